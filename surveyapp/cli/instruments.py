"""`surveyapp instruments`: check and load YAML instruments, convert XLSForms, and the
translation spreadsheets (`surveyapp instruments translations`)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from surveyapp import operations, queries
from surveyapp.cli.common import CLI
from surveyapp.domain import instrument_text
from surveyapp.domain.instruments import check_paths, content_hash
from surveyapp.domain.workbook import (read_about_sheet, read_translation_sheet,
                                       write_translation_sheet)


instruments_cli = AppGroup("instruments", help="Check and load YAML instruments.")


@instruments_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def instruments_check(paths):
    """Print every problem as path:line:col: message; exit 1 if there is any."""
    from surveyapp.domain.codebooks import check_codebooks, is_codebook_path
    paths = paths or [current_app.config["INSTRUMENTS_DIR"]]
    instrument_paths = [p for p in paths if not is_codebook_path(p)]
    instruments, problems = check_paths(instrument_paths) if instrument_paths else ([], [])
    codebooks, codebook_problems = check_codebooks(paths, {i.id: i.languages for i in instruments})
    problems = [*problems, *codebook_problems]
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(instruments)} instrument(s) OK, {len(codebooks)} codebook(s) OK, "
               f"{len(problems)} problem(s)", err=True)
    sys.exit(1 if problems else 0)


@instruments_cli.command("load")
@click.argument("paths", nargs=-1, type=click.Path())
def instruments_load(paths):
    """Record new versions of the instruments under PATHS (default: the instruments folder)."""
    paths = paths or [current_app.config["INSTRUMENTS_DIR"]]
    result = operations.transaction(lambda: operations.instruments.sync_instruments(paths, **CLI))
    for instrument in result.added:
        click.echo(f"loaded {instrument.id} {instrument.version} ({instrument.content_hash[:12]})")
    for instrument in result.unchanged:
        click.echo(f"unchanged {instrument.id} {instrument.version}")
    for problem in result.problems:
        click.echo(str(problem), err=True)
    sys.exit(1 if result.problems else 0)


@instruments_cli.command("export-xlsform")
@click.argument("instrument")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The .xlsx to write (default: ID.xlsx here).")
def instruments_export_xlsform(instrument, output):
    """Write INSTRUMENT (a loaded instrument's id, its newest version, or a .yaml file)
    as an XLSForm for ODK Collect; what XLSForm cannot hold is listed."""
    from surveyapp.domain.instruments import GUIDE_NAMES, InstrumentError, load_file
    from surveyapp.domain.workbook import write_workbook
    from surveyapp.domain.xlsform import export_xlsform
    if instrument.endswith((".yaml", ".yml")) and Path(instrument).is_file():
        try:
            loaded = load_file(instrument)
        except InstrumentError as error:
            raise click.ClickException(str(error)) from None
    else:
        version = queries.instruments.latest_version(instrument)
        if version is None:
            raise click.ClickException(f"no instrument '{instrument}' is loaded "
                                       "(see `surveyapp instruments load`)")
        loaded = queries.instruments.instrument_of(version)
    if loaded.kind != "survey":
        raise click.ClickException(f"{loaded.id} is {GUIDE_NAMES[loaded.kind]}; "
                                   "only questionnaires become XLSForms")
    exported = export_xlsform(loaded)
    path = Path(output or f"{loaded.id}.xlsx")
    try:
        write_workbook(exported.sheets, str(path))
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
    click.echo(f"wrote {path} ({loaded.id} {loaded.version}, {len(loaded.languages)} "
               f"language(s)): {len(exported.notes)} thing(s) the XLSForm lacks")
    for note in exported.notes:
        click.echo(f"  {note}")


@instruments_cli.command("import-xlsform")
@click.argument("form", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The .yaml to write (default: the instruments folder, ID.yaml).")
@click.option("--force", is_flag=True, help="Replace the .yaml if it exists.")
@click.option("--drop-untranslatable", is_flag=True,
              help="Leave out relevant/constraint/required expressions that cannot be "
                   "translated (named in comments) instead of refusing the form.")
def instruments_import_xlsform(form, output, force, drop_untranslatable):
    """Write the XLSForm FORM (.xlsx or .xls) as a YAML instrument, then check it.

    An expression that cannot be translated refuses the form, each listed as
    file:sheet:row, unless --drop-untranslatable."""
    from surveyapp.domain.xlsform import XlsformError, import_xlsform
    try:
        imported = import_xlsform(form, drop_untranslatable=drop_untranslatable)
    except XlsformError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    path = Path(output or Path(current_app.config["INSTRUMENTS_DIR"]) / f"{imported.instrument_id}.yaml")
    if path.exists() and not force:  # it may hold hand edits made since an earlier import
        raise click.ClickException(f"{path} exists; use --force to replace it")
    try:
        path.write_text(imported.yaml, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
    click.echo(f"wrote {path}: {len(imported.notes)} note(s) marked 'XLSForm:' to look at")
    dropped = [note for note in imported.notes if note.endswith("(--drop-untranslatable)")]
    if dropped:
        click.echo(f"{len(dropped)} rule(s) left out by --drop-untranslatable: the instrument "
                   "asks and accepts more than the XLSForm does")
    _, problems = check_paths([path])
    for problem in problems:
        click.echo(str(problem))
    sys.exit(1 if problems else 0)


translations_cli = AppGroup("translations", help="Spreadsheets for translating instrument text.")
instruments_cli.add_command(translations_cli)


_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _instrument_path(reference: str) -> Path:
    """An instrument id (looked up in the instruments folder) or a .yaml path."""
    try:
        return instrument_text.find_instrument(reference, current_app.config["INSTRUMENTS_DIR"])
    except LookupError as error:
        raise click.ClickException(str(error)) from None


@translations_cli.command("export")
@click.argument("instrument")
@click.option("--lang", "language", required=True, help="The language to translate into, e.g. so.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The .xlsx to write (default: INSTRUMENT-LANG.xlsx).")
def translations_export(instrument, language, output):
    """Write INSTRUMENT's texts (an id or a .yaml file) to a spreadsheet for translators."""
    if not _LANGUAGE.match(language):
        raise click.BadParameter(f"'{language}' is not a language code such as 'so'",
                                 param_hint="--lang")
    path = _instrument_path(instrument)
    text = instrument_text.read_text(path)
    try:
        header = instrument_text.instrument_header(text)
        entries = instrument_text.translatable_strings(text)
        output = output or f"{Path(header.id).name}-{language}.xlsx"  # an id is no path
        missing = write_translation_sheet(
            entries, header.default_language, language, output,
            about={"instrument": header.id, "version": header.version, "file": path.name,
                   "content_hash": content_hash(text)})
    except ValueError as error:
        raise click.ClickException(f"{path}: {error}") from None
    click.echo(f"wrote {output}: {len(entries)} texts, {missing} without '{language}'")
    if language not in header.languages:
        click.echo(f"note: '{language}' is not among the languages of {path.name} "
                   f"({', '.join(header.languages)}); add it there before importing", err=True)


@translations_cli.command("import")
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("--instrument", help="Instrument id or .yaml file (default: the one named in the workbook).")
def translations_import(workbook, instrument):
    """Write the translations in WORKBOOK into its instrument's YAML, then check the file."""
    name = Path(workbook).name
    try:
        language, translations = read_translation_sheet(workbook)
        about = read_about_sheet(workbook)
    except ValueError as error:
        raise click.ClickException(f"{name}: {error}") from None
    reference = instrument or about.get("instrument")
    if not reference:
        raise click.ClickException(f"{name}: the workbook does not name its instrument; "
                                   "use --instrument")
    path = _instrument_path(reference)
    text = instrument_text.read_text(path)
    if about.get("content_hash") not in (None, content_hash(text)):
        click.echo(f"note: {path.name} has changed since {name} was exported", err=True)
    try:
        new_text = instrument_text.apply_translations(text, language, translations)
    except instrument_text.UnknownKeys as error:
        click.echo(f"{name}: {len(error.keys)} rows name keys this instrument does not have: "
                   f"{', '.join(error.keys)}; nothing was written", err=True)
        sys.exit(1)
    except (ValueError, RuntimeError) as error:
        raise click.ClickException(f"{name}: {error}; nothing was written") from None
    changed = instrument_text.changed_keys(text, new_text, language)
    if changed:
        instrument_text.write_text(path, new_text)
    click.echo(f"{path}: {len(changed)} '{language}' text(s) updated")
    _, problems = check_paths([path])
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) left in {path}", err=True)
    sys.exit(1 if problems else 0)
