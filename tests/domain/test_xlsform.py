"""XLSForm import: the real forms from pyxform's test suite become instruments that pass
the checker, each XLSForm feature maps to ours or to a '# XLSForm:' comment, and a
workbook pyxform refuses gives file:sheet:row messages."""
from __future__ import annotations


import pytest
from ruamel.yaml import YAML

from surveyapp.domain.instruments import load_instrument
from surveyapp.domain.xlsform import XlsformError, import_xlsform, translate_expression
from tests.helpers import FORMS

if not FORMS.is_dir():
    pytest.skip(f"XLSForm samples missing: {FORMS} (see its README)", allow_module_level=True)

# 13 of the 16 import cleanly. Refused, each for its own reason: duplicate column headers
# (pyxform refuses them), a form whose only questions are in a repeat (nothing left to
# ask), and a constraint using today(), which has no equivalent here.
REFUSED = {
    "duplicate_columns.xlsx": "duplicate_columns.xlsx:survey:1: column header 'label' appears "
                              "more than once (columns D, E); keep one",
    "tutorial.xls": "tutorial.xls:survey: the form has no question this importer can use",
    "widgets.xls": "widgets.xls:survey:5: constraint of question 'my_date' cannot be translated "
                   "(function today() has no equivalent): . >= today()",
}
IMPORTABLE = sorted(p.name for p in FORMS.glob("*.xls*") if p.name not in REFUSED)


def test_thirteen_of_the_sixteen_sample_forms_import_and_the_rest_say_why():
    assert len(list(FORMS.glob("*.xls*"))) == 16 and len(IMPORTABLE) == 13
    for name, message in REFUSED.items():
        with pytest.raises(XlsformError) as caught:
            import_xlsform(FORMS / name)
        assert str(caught.value.problems[0]).startswith(message), name


def imported(name):
    result = import_xlsform(FORMS / name)
    return result, load_instrument(result.yaml, name), YAML().load(result.yaml)


def questions(data):
    return {q["id"]: q for page in data["pages"] for q in page["questions"]}


@pytest.mark.parametrize("name", IMPORTABLE)
def test_every_importable_form_passes_the_checker(name):
    result, instrument, _ = imported(name)
    assert instrument.id == result.instrument_id
    assert list(instrument.questions)


def test_or_other_becomes_other_true_without_pyxforms_extra_question_or_choice():
    _, instrument, data = imported("or_other.xlsx")
    color = instrument.question("fav_color")
    assert color.type == "select_one" and color.other
    assert "fav_color_other" not in questions(data)
    assert [c["value"] for c in data["choice_lists"]["colors"]] == [
        "red", "green", "blue", "mauve", "apricot"]


def test_or_specify_other_the_older_spelling_is_other_true_too():
    _, instrument, data = imported("specify_other.xlsx")
    assert instrument.question("sex").other
    assert "sex_other" not in questions(data)


def test_choice_filter_is_commented_as_unsupported():
    result, _, _ = imported("or_other.xlsx")
    assert "# XLSForm: choice_filter of question 'fav_pastel' is not supported" in result.yaml


def test_field_list_group_is_one_page_and_top_level_questions_get_their_own():
    _, instrument, data = imported("field-list.xlsx")
    pages = [(page["id"], [q["id"] for q in page["questions"]]) for page in data["pages"]]
    assert len(pages) >= 1
    assert all(ids for _, ids in pages)
    assert len(instrument.pages) == len(pages)


def test_group_becomes_a_page_with_its_label_as_title():
    result, instrument, data = imported("group.xlsx")
    assert [p.id for p in instrument.pages] == ["page_1", "father"]
    assert data["pages"][1]["title"] == {"en": "Father"}
    assert [q["id"] for q in data["pages"][1]["questions"]] == ["age"]
    assert "'phone_number' has type 'phone number', which is not supported" in result.yaml


def test_yes_or_no_question_keeps_its_choices():
    _, instrument, _ = imported("yes_or_no_question.xlsx")
    (question,) = [q for q in instrument.questions if q.type == "select_one"]
    assert set(question.choices.values) == {"yes", "no"}


def test_text_and_integer_map_to_our_types():
    _, instrument, _ = imported("text_and_integer.xlsx")
    assert [q.type for q in instrument.questions] == ["text", "integer"]


def imported_dropping(name):
    result = import_xlsform(FORMS / name, drop_untranslatable=True)
    return result, load_instrument(result.yaml, name), YAML().load(result.yaml)


def test_widgets_unsupported_types_and_appearances_are_commented():
    result, instrument, _ = imported_dropping("widgets.xls")
    assert "appearance 'autocomplete'" in result.yaml or "appearance 'quick'" in result.yaml
    assert "has type 'geopoint', which is not supported; left out" in result.yaml
    assert "# XLSForm: pyxform warns at choices:23: The 'label' value is invalid. Choices " \
        "should have a label." in result.yaml
    assert {q.type for q in instrument.questions} <= {
        "text", "textarea", "integer", "decimal", "select_one", "select_multiple", "date", "note"}


def test_languages_come_from_the_label_columns():
    _, instrument, _ = imported("xlsform_spec_test.xlsx")
    assert instrument.languages == ("en", "zh")
    label = instrument.question("skip_to_end").choices.choices[0].label
    assert label == {"en": "Yes", "zh": "是"}


def test_missing_translation_is_copied_and_commented():
    result, _, _ = imported("xlsform_spec_test.xlsx")
    assert "# XLSForm: the label of question 'my_name' has no zh text; copied the en text" \
        in result.yaml


def test_group_relevant_reaches_its_questions_translated():
    _, instrument, _ = imported("xlsform_spec_test.xlsx")
    assert instrument.question("my_name").relevant.source == "not (selected(skip_to_end, 'yes'))"


def test_repeat_is_left_out_with_a_comment():
    result, instrument, _ = imported("xlsform_spec_test.xlsx")
    assert "repeat 'repeat_test' is not supported; left out" in result.yaml
    assert "group_test" not in {q.id for q in instrument.questions}


def test_id_and_version_come_from_the_settings_sheet():
    result, instrument, _ = imported("UCL_Biomass_Plot_Form.xlsx")
    assert result.instrument_id == "ucl-biomass-plot-form"
    assert instrument.version == "2022-04-11 16:26:28.971000"
    assert instrument.default_language == "sw"


def test_id_falls_back_to_the_file_name():
    result, _, _ = imported("survey_no_name.xlsx")
    assert result.instrument_id == "survey-no-name"


def test_blank_relevant_of_ict_survey_is_dropped_not_fatal():
    # pyxform's own test of this form checks that a relevant of "\n" is ignored; it imports.
    _, instrument, _ = imported("ict_survey_fails.xls")
    assert instrument.question("internet_teach").relevant is None


def test_drop_untranslatable_imports_without_the_rule_and_says_so():
    result, instrument, _ = imported_dropping("widgets.xls")
    assert instrument.question("my_date").constraint is None
    assert "# XLSForm: constraint of question 'my_date' cannot be translated (function today() " \
        "has no equivalent): . >= today(); left out (--drop-untranslatable)" in result.yaml


def test_calculate_is_left_out_with_a_comment_when_nothing_depends_on_it():
    result, instrument, _ = imported("xlsform_spec_test.xlsx")
    assert "question 'repeat_test_count' has type 'calculate', which is not supported; " \
        "left out" in result.yaml
    assert "repeat_test_count" not in {q.id for q in instrument.questions}


def test_every_untranslatable_rule_is_listed_with_its_row_and_the_import_refused(tmp_path):
    form = write_form(tmp_path / "rules.xlsx", [
        ["type", "name", "label", "relevant", "constraint", "required", "calculation"],
        ["integer", "age", "Age", None, ". < today()", None, None],
        ["calculate", "double", None, None, None, None, "${age} * 2"],
        ["text", "why", "Why?", "${double} > 3", None, None, None],
        ["text", "where", "Where?", None, None, "${age} > 3", None],
        ["text", "fine", "Fine", "${age} > 3", None, None, None],
    ])
    with pytest.raises(XlsformError) as caught:
        import_xlsform(form)
    assert [str(p) for p in caught.value.problems] == [
        "rules.xlsx:survey:2: constraint of question 'age' cannot be translated (function "
        "today() has no equivalent): . < today()",
        "rules.xlsx:survey:4: relevant of question 'why' cannot be translated (${double} is not "
        "an earlier question here): ${double} > 3",
        "rules.xlsx:survey:5: required of question 'where' is an expression, which has no "
        "equivalent here: ${age} > 3",
    ]
    result = import_xlsform(form, drop_untranslatable=True)
    instrument = load_instrument(result.yaml)
    assert [q.id for q in instrument.questions] == ["age", "why", "where", "fine"]
    assert instrument.question("fine").relevant.source == "age > 3"
    assert result.yaml.count("(--drop-untranslatable)") == 3


def test_cli_refuses_then_imports_with_drop_untranslatable(tmp_path):
    from click.testing import CliRunner
    from surveyapp.cli.instruments import instruments_import_xlsform
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames \
        else CliRunner()
    out = tmp_path / "w.yaml"
    refused = runner.invoke(instruments_import_xlsform, [str(FORMS / "widgets.xls"), "-o", str(out)])
    assert refused.exit_code == 1 and not out.exists()
    assert "widgets.xls:survey:5: constraint of question 'my_date'" in refused.stderr
    done = runner.invoke(instruments_import_xlsform,
                         [str(FORMS / "widgets.xls"), "-o", str(out), "--drop-untranslatable"])
    assert done.exit_code == 0, done.output
    assert "1 rule(s) left out by --drop-untranslatable" in done.stdout and out.exists()


def test_duplicate_columns_are_refused_with_sheet_row_and_columns():
    with pytest.raises(XlsformError) as caught:
        import_xlsform(FORMS / "duplicate_columns.xlsx")
    assert [str(p) for p in caught.value.problems] == [
        "duplicate_columns.xlsx:survey:1: column header 'label' appears more than once "
        "(columns D, E); keep one"]


@pytest.mark.parametrize("content, expected", [
    (b"not a workbook at all", "broken.xlsx: "),
    (b"PK\x03\x04truncated", "broken.xlsx: "),
])
def test_a_file_that_is_no_workbook_is_refused_cleanly(tmp_path, content, expected):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(XlsformError) as caught:
        import_xlsform(path)
    assert str(caught.value.problems[0]).startswith(expected)


IDS = {"age": "age", "colour": "colour", "Other-Q": "other_q"}


@pytest.mark.parametrize("source, expected", [
    ("${age} > 18", "age > 18"),
    ("${colour} = 'red'", "colour == 'red'"),
    ("${colour} != ''", "colour != null"),
    ("selected(${colour}, 'red') or not(${age} >= 65)", "selected(colour, 'red') or not (age >= 65)"),
    ("count-selected(${colour}) <= 2 and ${Other-Q} = 'x'", "count(colour) <= 2 and other_q == 'x'"),
    (". >= 0 and . <= 120", ". >= 0 and . <= 120"),
    ("string-length(.) < 10", "length(.) < 10"),
    ("regex(., '^[0-9]+$')", "matches(., '^[0-9]+$')"),
    ("${age} div 2 > 3", "age / 2 > 3"),
    ("true()", "true"),
])
def test_expressions_translate(source, expected):
    assert translate_expression(source, IDS, self_name="self") == expected


@pytest.mark.parametrize("source, expected", [
    ("${colour} = 1", "colour == '1'"),
    ("2 != ${colour}", "'2' != colour"),
    ("${age} = 1", "age == 1"),
])
def test_numbers_compared_with_a_choice_are_quoted_as_xpath_compares_them(source, expected):
    assert translate_expression(source, IDS, choice_ids=frozenset({"colour"})) == expected


@pytest.mark.parametrize("source, reason", [
    ("${later} = 1", "${later} is not an earlier question here"),
    ("today() > ${age}", "function today() has no equivalent"),
    ("/data/age > 3", "'/' is not understood"),
    ("${age} mod 2 = 0", "'mod' has no equivalent"),
])
def test_untranslatable_expressions_say_why(source, reason):
    with pytest.raises(ValueError, match=reason.replace("$", r"\$").replace("(", r"\(")
                       .replace(")", r"\)").replace("{", r"\{").replace("}", r"\}")):
        translate_expression(source, IDS)


# ----------------------------------------------------------------------------- forms written here

def write_form(path, survey, choices=(), settings=()):
    """An .xlsx XLSForm with the given rows (first row: headers), as a form author saves it."""
    from openpyxl import Workbook
    book = Workbook()
    book.active.title = "survey"
    for row in survey:
        book.active.append(row)
    for title, rows in (("choices", choices), ("settings", settings)):
        if rows:
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
    book.save(path)
    return path


def test_language_columns_field_list_and_constraint_message(tmp_path):
    form = write_form(tmp_path / "Neighbourhood Survey.xlsx", [
        ["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)",
         "constraint", "constraint_message::English (en)", "constraint_message::Español (es)",
         "relevant", "required", "appearance"],
        ["begin group", "about", "About you", "Sobre usted", None, None, None, None, None, None,
         "field-list"],
        ["integer", "Years-Here", "Years here?", "¿Años aquí?", "Whole years", ". <= 100",
         "At most 100", "Como máximo 100", None, "yes", None],
        ["select_one yn", "moved", "Moved?", "¿Se mudó?", None, None, None, None,
         "${Years-Here} < 2", None, None],
        ["end group"],
        ["text", "why", "Why?", "¿Por qué?", None, None, None, None,
         "selected(${moved}, 'yes')", None, "multiline"],
    ], choices=[["list_name", "name", "label::English (en)", "label::Español (es)"],
                ["yn", "yes", "Yes", "Sí"], ["yn", "no", "No", "No"]],
       settings=[["form_id", "version", "default_language"], ["hood_2026", "2026.1", "English (en)"]])
    result = import_xlsform(form)
    instrument = load_instrument(result.yaml, form.name)
    assert (instrument.id, instrument.version, instrument.languages) == (
        "hood-2026", "2026.1", ("en", "es"))
    (about, loose) = instrument.pages
    assert [q.id for q in about.questions] == ["years_here", "moved"]
    assert about.title == {"en": "About you", "es": "Sobre usted"}
    years = instrument.question("years_here")
    assert years.required and years.constraint.source == ". <= 100"
    assert years.constraint_message == {"en": "At most 100", "es": "Como máximo 100"}
    assert years.hint == {"en": "Whole years", "es": "Whole years"}
    assert "the hint of question 'Years-Here' has no es text; copied the en text" in result.yaml
    assert instrument.question("moved").relevant.source == "years_here < 2"
    assert [q.id for q in loose.questions] == ["why"]
    assert instrument.question("why").type == "textarea"
    assert instrument.question("why").relevant.source == "selected(moved, 'yes')"
    assert "a group without field-list" not in result.yaml


def test_an_unknown_type_is_commented_and_left_out(tmp_path):
    form = write_form(tmp_path / "typo.xlsx", [
        ["type", "name", "label"], ["integer", "age", "Age"], ["geotrace", "route", "Route"]])
    result = import_xlsform(form)
    assert [q.id for q in load_instrument(result.yaml).questions] == ["age"]
    assert "# XLSForm: question 'route' has type 'geotrace', which is not supported; left out" \
        in result.yaml


def test_a_language_without_a_code_is_refused(tmp_path):
    form = write_form(tmp_path / "lang.xlsx", [
        ["type", "name", "label::Klingon"], ["text", "name", "Name"]])
    with pytest.raises(XlsformError, match=r"lang.xlsx:survey:1: cannot tell the language code "
                                           r"of column 'label::Klingon'"):
        import_xlsform(form)


@pytest.mark.parametrize("survey, expected", [
    ([["type", "name", "label"], ["select_one nope", "x", "X"]],
     "bad.xlsx:survey:2: List name not in choices sheet: nope"),
    ([["type", "name", "label"], ["begin group", "g", "G"], ["text", "x", "X"]],
     "bad.xlsx:survey:2: Unmatched 'begin_group'."),
    ([["type", "name", "label"], ["text", "a", "X"], ["text", "a", "Y"]],
     "bad.xlsx:survey:3: The 'name' value 'a' is invalid."),
])
def test_malformed_forms_name_the_sheet_and_row(tmp_path, survey, expected):
    form = write_form(tmp_path / "bad.xlsx", survey, choices=[["list_name", "name", "label"],
                                                              ["yn", "yes", "Yes"]])
    with pytest.raises(XlsformError) as caught:
        import_xlsform(form)
    assert str(caught.value.problems[0]).startswith(expected)


def test_range_becomes_a_bounded_number_and_page_ids_stay_unique(tmp_path):
    form = write_form(tmp_path / "range.xlsx", [
        ["type", "name", "label", "parameters"],
        ["range", "score", "Score", "start=1 end=10 step=1"],
        ["range", "half", "Half", "start=0 end=5 step=0.5"],
        ["begin group", "page_1", "A group named like a page"],
        ["text", "why", "Why?"],
        ["end group"]])
    result = import_xlsform(form)
    instrument = load_instrument(result.yaml)
    score, half = instrument.question("score"), instrument.question("half")
    assert (score.type, score.min, score.max) == ("integer", 1, 10)
    assert (half.type, half.min, half.max) == ("decimal", 0.0, 5.0)
    assert "range 'half' has step 0.5, which is not enforced here" in result.yaml
    assert [page.id for page in instrument.pages] == ["page_1", "page_1_2"]


def test_table_list_group_likert_and_rank_come_in_as_matrix_likert_and_ranking(tmp_path):
    form = write_form(tmp_path / "grid.xlsx", [
        ["type", "name", "label", "appearance", "relevant", "required"],
        ["begin group", "trust", "How much do you trust...", "table-list", None, None],
        ["select_one agree", "trust_police", "the police", None, None, "yes"],
        ["select_one agree", "trust_council", "the council", None, None, "yes"],
        ["end group"],
        ["select_one agree", "overall", "Overall", "likert", "${trust_police} >= 4", None],
        ["rank fruit", "order", "Put them in order", None, None, None],
        ["select_one fruit", "best", "Best fruit", "likert", None, None],
    ], choices=[["list_name", "name", "label"], *[["agree", str(n), f"A{n}"] for n in range(1, 6)],
                ["fruit", "apple", "Apple"], ["fruit", "pear", "Pear"]])
    result = import_xlsform(form)
    instrument = load_instrument(result.yaml)
    trust = instrument.question("trust")
    assert (trust.type, trust.label, trust.required) == ("matrix", {"en": "How much do you trust..."},
                                                         True)
    assert [(i.id, i.label["en"]) for i in trust.items] == [("police", "the police"),
                                                           ("council", "the council")]
    assert instrument.choice_lists["agree"].values == (1, 2, 3, 4, 5)
    overall = instrument.question("overall")
    assert overall.type == "likert" and overall.relevant.source == "trust.police >= 4"
    assert instrument.question("order").type == "ranking"
    # likert with text values is not our likert scale: it stays a select_one
    assert instrument.question("best").type == "select_one"


def test_a_damaged_xlsx_is_an_xlsform_error_at_every_offset(tmp_path):
    """Found by tests/fuzz: bytes overwritten inside a deflated member raised zlib.error (and
    a broken XML part SyntaxError) straight through the importer."""
    data = (FORMS / "or_other.xlsx").read_bytes()
    damaged = tmp_path / "damaged.xlsx"
    for offset in range(40, len(data), max(1, len(data) // 25)):
        damaged.write_bytes(data[:offset] + b"\x00\xff" * 8 + data[offset + 16:])
        try:
            import_xlsform(damaged)
        except XlsformError as error:
            assert "damaged.xlsx" in str(error)
