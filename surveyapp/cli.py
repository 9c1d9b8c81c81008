"""Commands: `surveyapp ...` (or `flask --app wsgi ...`). Each parses, calls, echoes."""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from surveyapp import operations, queries
from surveyapp.config import PROJECT_ROOT
from surveyapp.domain import instrument_text
from surveyapp.domain.instruments import check_paths, content_hash
from surveyapp.domain.workbook import (read_about_sheet, read_translation_sheet,
                                       write_translation_sheet)

instruments_cli = AppGroup("instruments", help="Check and load YAML instruments.")
demo_cli = AppGroup("demo", help="Demo data for a first look.")
translate_cli = AppGroup("translate", help="Interface catalogs (pybabel).")
scores_cli = AppGroup("scores", help="Capacity-domain scores of complete responses.")


# Who a command acts as, for the operations that record an audit event (the CLI has no
# --as user, and no client address).
CLI = {"actor": operations.audit.ACTOR_CLI, "ip": None}


def _audit(action: str, **fields) -> None:
    """An audit event for what a command does outside any operation (an export, a backup)."""
    operations.audit.record(action, **CLI, **fields)


def main() -> None:
    """The `surveyapp` console script."""
    from surveyapp import create_app
    FlaskGroup(create_app=create_app, help="surveyapp administration.")()


def init_app(app: Flask) -> None:
    for group in (instruments_cli, demo_cli, translate_cli, users_cli, campaigns_cli, projects_cli,
                  scores_cli, export_command, themes_command, worker_command, delete_cli,
                  retention_cli, backup_command, restore_command):
        app.cli.add_command(group)


# ----------------------------------------------------------------------------- instruments

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
    from surveyapp.domain.instruments import InstrumentError, load_file
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
        raise click.ClickException(f"{loaded.id} is a focus-group guide; only questionnaires "
                                   "become XLSForms")
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


# ----------------------------------------------------------------------------- instrument translations

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


# ----------------------------------------------------------------------------- demo

@demo_cli.command("seed")
@click.option("--responses", default=24, show_default=True, help="Responses per campaign.")
def demo_seed(responses):
    """On a new database: an admin account, a campaign per instrument, synthetic responses."""
    result = operations.transaction(
        lambda: operations.demo.seed_demo(responses_per_campaign=responses, **CLI))
    login_file = Path(current_app.instance_path) / "demo-login.txt"
    if result.created:
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"{operations.demo.DEMO_ADMIN_EMAIL}\n{result.password}\n")
        login_file.chmod(0o600)
        for campaign in result.campaigns:
            click.echo(f"campaign /s/{campaign.code}: {campaign.instrument_id}, "
                       f"{campaign.site.name}, {campaign.wave}")
        click.echo(f"{result.responses} synthetic responses")
        for session in result.sessions:
            click.echo(f"focus group /staff/focus-groups/{session.id}: {session.guide_id}, {session.site.name}")
    else:
        click.echo("database already has accounts: demo data left as it is")
    if login_file.exists():
        email, password = login_file.read_text().split()[:2]
        click.echo("=" * 60)
        click.echo(f"  demo login: {email}  password: {password}")
        click.echo(f"  (kept in {login_file})")
        click.echo("=" * 60)


# ----------------------------------------------------------------------------- translations

def _pybabel(*args: str) -> None:
    # Run from the project root so that source references in the catalogs are relative.
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), *args], check=True,
                   cwd=PROJECT_ROOT)


TRANSLATIONS = PROJECT_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"


@translate_cli.command("extract")
def translate_extract():
    """Collect interface strings into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--sort-by-file", "--project", "surveyapp",
             "-o", str(POT.relative_to(PROJECT_ROOT)), "surveyapp")


@translate_cli.command("update")
def translate_update():
    """Merge messages.pot into every catalog."""
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")


@translate_cli.command("compile")
def translate_compile():
    """Compile every catalog to .mo (refuses catalogs with errors)."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


# ----------------------------------------------------------------------------- users, campaigns, projects

users_cli = AppGroup("users", help="Staff accounts.")
campaigns_cli = AppGroup("campaigns", help="Deploy questionnaires to sites and waves.")
projects_cli = AppGroup("projects", help="Projects: who sees which sites, campaigns and focus groups.")


def _project(name: str | None):
    """The project named ``name``; without a name, the only project there is (the default
    project is made on a new server). Several projects and no name is an error."""
    if name is not None:
        project = operations.staff.project_by_name(name)
        if project is None:
            raise click.ClickException(f"no project named '{name}'; "
                                       f"see `surveyapp projects create`")
        return project
    projects = queries.projects.projects()
    if len(projects) > 1:
        raise click.ClickException("there are several projects: name one with --project")
    return projects[0] if projects else None


@projects_cli.command("create")
@click.argument("name")
def projects_create(name):
    """Create a project (its waves: baseline, follow-up 1; change them on its page)."""
    try:
        project = operations.transaction(lambda: operations.staff.create_project(name, **CLI))
    except operations.staff.ProjectError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created project {project.name} (waves: {', '.join(project.waves)})")


@projects_cli.command("add-member")
@click.argument("project")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["facilitator", "analyst", "partner"]),
              help="Repeat for several. A partner reads aggregates only.")
def projects_add_member(project, email, roles):
    """Give the account EMAIL a role in PROJECT."""
    owner = _project(project)
    user = queries.projects.user_by_email(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    def work():
        for role in roles:
            operations.staff.add_member(owner, user, role, **CLI)
    operations.transaction(work)
    click.echo(f"{user.email} is {' and '.join(sorted(roles))} in {owner.name}")


@projects_cli.command("list")
def projects_list():
    """Every project with its waves and members."""
    for project in queries.projects.projects():
        click.echo(f"{project.name}: waves {', '.join(project.waves)}")
        for user in queries.projects.staff_with_role("facilitator", "analyst", "partner",
                                                     project_id=project.id):
            roles = sorted(m.role for m in user.memberships if m.project_id == project.id)
            click.echo(f"  {user.email} ({', '.join(roles)})")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "facilitator", "analyst"]), help="Repeat for several.")
@click.option("--project", help="Where facilitator and analyst are held (default: the only project).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, roles, project, password_stdin):
    """Create an account; the password comes from a prompt (or stdin)."""
    owner = _project(project) if set(roles) - {"admin"} else None
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise click.ClickException("the password needs at least 10 characters")
    if queries.projects.user_by_email(email):
        raise click.ClickException(f"an account for {email} exists already")
    user = operations.transaction(
        lambda: operations.staff.create_user(email, password, roles, owner, **CLI))
    where = f" in {user.memberships[0].project.name}" if user.memberships else ""
    click.echo(f"created {user.email} ({', '.join(sorted(user.role_set))}){where}")


@campaigns_cli.command("create")
@click.option("--project", help="The project the site belongs to (default: the only project).")
@click.option("--instrument", required=True, help="Instrument id, e.g. community-capacity.")
@click.option("--site", required=True, help="Site name (created in the project if new).")
@click.option("--wave", required=True, help="One of the project's waves, e.g. baseline.")
@click.option("--unlisted", is_flag=True, help="Leave it off the public list.")
@click.option("--opens", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--closes", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
def campaigns_create(project, instrument, site, wave, unlisted, opens, closes):
    """Deploy the current version of an instrument to a site and wave; print its link."""
    from datetime import timezone
    aware = lambda moment: moment.replace(tzinfo=timezone.utc) if moment else None  # noqa: E731
    owner = _project(project)
    try:
        def work():
            where = operations.campaigns.get_or_create_site(site, project=owner, **CLI)
            return operations.campaigns.create_campaign(
                instrument, where, wave, unlisted=unlisted, opens_at=aware(opens),
                closes_at=aware(closes), **CLI)
        campaign = operations.transaction(work)
    except (LookupError, operations.campaigns.CampaignRefused) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"/s/{campaign.code}  {instrument} at {site}, {wave} ({campaign.project.name})")


# ----------------------------------------------------------------------------- scores

@scores_cli.command("backfill")
@click.option("--campaign", "code", help="Only this campaign's responses (its code).")
@click.option("--batch-size", default=500, show_default=True, help="Responses per commit.")
def scores_backfill(code, batch_size):
    """Score the complete responses that have no scores yet (those completed before scores
    were stored), on the instrument version each was answered on. Safe to rerun: responses
    already scored are left as they are."""
    campaign_id = None
    if code:
        campaign = queries.campaigns.campaign_by_code(code) or None
        if campaign is None:
            raise click.ClickException(f"no campaign with code {code!r}")
        campaign_id = campaign.id
    total = operations.scores.count_unscored(campaign_id)
    scored, after_id = 0, 0
    with click.progressbar(length=total, label="scoring responses") as bar:
        while True:
            batch = operations.transaction(lambda: operations.scores.backfill_batch(
                after_id=after_id, campaign_id=campaign_id, batch_size=batch_size))
            if not batch.seen:
                break
            scored, after_id = scored + batch.seen, batch.last_id
            bar.update(batch.seen)
    click.echo(f"{scored} responses scored")


# ----------------------------------------------------------------------------- export

@click.command("export")
@click.argument("reference")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The .xlsx file to write (a .zip of CSV files with --csv).")
@click.option("--project", help="Only this project's campaigns (by name).")
@click.option("--site", help="Only this site's campaigns (by name).")
@click.option("--wave", help="Only this wave.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Answered on or after YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Answered on or before YYYY-MM-DD.")
@click.option("--status", type=click.Choice(["complete", "partial", "all"]), default="complete",
              show_default=True)
@click.option("--lang", "language", help="Label language (default: the instrument's).")
@click.option("--codes", is_flag=True, help="Stored codes instead of labels.")
@click.option("--csv", "as_csv", is_flag=True, help="A zip with one UTF-8 CSV per sheet.")
@click.option("--pii", "include_pii", is_flag=True,
              help="Include answers to pii questions (contact details). Handle with care.")
@click.option("--aggregates-only", is_flag=True,
              help="What a partner may read: About, Summary (small cells suppressed), "
                   "Capacity and Themes without quotes; no response, transcript or quote.")
@with_appcontext
def export_command(reference, output, project, site, wave, since, until, status, language,
                   codes, as_csv, include_pii, aggregates_only):
    """Export a campaign (by code) or an instrument (by id) to an Excel workbook."""
    from surveyapp.queries import export
    from surveyapp.queries.projects import all_sites
    owner = _project(project) if project else None
    options = dict(wave=wave, status=status, language=language, codes=codes,
                   include_pii=include_pii, aggregates_only=aggregates_only, since=since.date() if since else None,
                   until=until.date() if until else None)
    try:
        filters = export.filters_for(reference, **options)
        if owner is not None:
            filters = replace(filters, project_id=owner.id)
        if site:
            matches = [s for s in all_sites({filters.project_id} if filters.project_id else None)
                       if s.name.casefold() == site.strip().casefold()]
            if len(matches) != 1:
                raise export.ExportError(f"no site named {site!r}" if not matches else
                                         f"{len(matches)} sites are named {site!r}: name one with --project")
            filters = replace(filters, site_id=matches[0].id)
        total = export.count_responses(filters)
        with click.progressbar(length=total, label="responses", file=sys.stderr) as bar:
            result = export.write_export(filters, output, csv=as_csv, progress=bar.update)
        operations.transaction(lambda: _audit(
            "export.written", project_id=filters.project_id, target_type="export",
            target_id=reference, details={"format": "csv" if as_csv else "xlsx",
                                          "status": status, "pii": include_pii,
                                          "aggregates_only": aggregates_only,
                                          "responses": total}))
    except export.ExportError as error:
        raise click.ClickException(str(error)) from None
    counts = ", ".join(f"{title}: {n}" for title, n in result.rows.items())
    click.echo(f"wrote {output} ({counts})")


# ----------------------------------------------------------------------------- themes

LONG_RUN = 500     # texts from which the command shows a progress bar


def _theme_source(target: str, question: str | None, prompt: str | None, project: str | None):
    """The source TARGET (a campaign code or an instrument id) and the options name."""
    from surveyapp.queries.themes import Source, themeable_questions
    campaign = queries.campaigns.campaign_by_code(target)
    version = queries.instruments.latest_version(campaign.instrument_id if campaign else target)
    if version is None:
        raise click.ClickException(f"'{target}' is neither a campaign code nor an instrument id")
    instrument = queries.instruments.instrument_of(version)
    if instrument.kind == "focus_group":
        if question or not prompt:
            raise click.ClickException(f"{instrument.id} is a focus-group guide: give --prompt, one of "
                                       + ", ".join(p.id for p in instrument.prompts))
        if instrument.prompt(prompt) is None:
            raise click.ClickException(f"{instrument.id} has no prompt '{prompt}'")
        return Source("prompt", _project(project).id, instrument.id, prompt)
    choices = [q.id for q in themeable_questions(instrument)]
    if prompt or not question:
        raise click.ClickException(f"{instrument.id} is a questionnaire: give --question, one of "
                                   + ", ".join(choices))
    if question not in choices:
        raise click.ClickException(f"'{question}' is not a free-text question of {instrument.id}; "
                                   "choose one of " + ", ".join(choices))
    if campaign is not None:
        return Source("question", campaign.project_id, instrument.id, question, campaign.id)
    return Source("question", _project(project).id, instrument.id, question)


def _progress(rows):
    """A progress bar over a long run's texts; short runs print none."""
    rows = list(rows)
    if len(rows) < LONG_RUN:
        yield from rows
        return
    with click.progressbar(rows, label="storing themes", file=sys.stderr) as bar:
        yield from bar


class _EngineBar:
    """A progress bar across the engine call, fed ``extract_themes``'s (fraction, stage)
    callback; short runs (fewer than LONG_RUN texts) show none."""

    STEPS = 100

    def __init__(self, count: int):
        self.bar = (click.progressbar(length=self.STEPS, label="finding themes", file=sys.stderr)
                    if count >= LONG_RUN else None)
        self.done = 0

    def __enter__(self):
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, fraction: float, stage: str) -> None:
        step = min(self.STEPS, int(fraction * self.STEPS))
        if self.bar is not None and step > self.done:
            self.bar.label = f"finding themes ({stage})"
            self.bar.update(step - self.done)
            self.done = step


@click.command("themes")
@click.argument("target")
@click.option("--question", help="A free-text question of the questionnaire.")
@click.option("--prompt", help="A prompt of the focus-group guide (finalised sessions only).")
@click.option("--k", "k", default="auto", show_default=True,
              help="How many themes: a number, or auto to let the engine choose.")
@click.option("--lang", help="Language of the texts (default: their most common one).")
@click.option("--project", help="For an instrument id: the project (default: the only project).")
@click.option("--codebook", "apply_codebook", is_flag=True,
              help="Also code the texts against the instrument's codebook and print its counts.")
@with_appcontext
def themes_command(target, question, prompt, k, lang, project, apply_codebook):
    """Find the themes of TARGET's answers (a campaign code, or an instrument id for all of a
    project's campaigns or sessions), store the run as the analysis page does, print them.

    Runs inline with a progress bar (the analysis page hands long runs to the job layer);
    analysts' renames, merges and assignments and the codebook's coding stay.
    """
    from surveyapp.domain.themes_text import language_code
    if k != "auto" and not (k.isdigit() and 1 <= int(k) <= 99):
        raise click.BadParameter("a number from 1 to 99, or auto", param_hint="--k")
    source = _theme_source(target, question, prompt, project)
    count = len(queries.themes.source_items(source))
    click.echo(f"finding themes in {count} text(s)...", err=True)
    try:
        with _EngineBar(count) as engine_bar:
            operations.transaction(lambda: operations.themes.run_themes(
                source, k=None if k == "auto" else int(k),
                language=language_code(lang) if lang else None, progress=_progress,
                engine_progress=engine_bar, **CLI))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    review = queries.themes.review(source)
    width = max([len(t.theme.label) for t in review.themes] + [len("theme")])
    click.echo(f"{'theme':<{width}}  {'count':>6}  {'share':>6}  key phrases")
    for theme in review.themes:
        click.echo(f"{theme.theme.label:<{width}}  {len(theme.items):>6}  {theme.share:>6.1%}  "
                   + ", ".join(theme.theme.key_phrases))
    click.echo(f"{'(no theme)':<{width}}  {len(review.unthemed):>6}")
    if apply_codebook:
        try:
            applied = operations.transaction(
                lambda: operations.themes.apply_codebook(source, **CLI))
        except operations.themes.ThemeRefused as refusal:
            if refusal.problems:
                raise click.ClickException("the codebook does not load:\n"
                                           + "\n".join(refusal.problems)) from None
            raise click.ClickException(f"{source.instrument_id} has no codebook "
                                       "(instruments/codebooks/)") from None
        click.echo(f"\ncodebook {applied.path}: {applied.matched} of {count} text(s) matched")
        for code_id, matched in applied.counts.items():
            click.echo(f"  {code_id:<{width}}  {matched:>6}")
        for language, codes in applied.untranslated.items():
            click.echo(f"  no keywords in {language}: {', '.join(codes)}")


# ----------------------------------------------------------------------------- jobs
@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@with_appcontext
def worker_command(burst):
    """Run background jobs from the Redis queue (SURVEYAPP_REDIS_URL must be set)."""
    from flask import current_app
    from surveyapp import jobs
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("SURVEYAPP_REDIS_URL is not set: jobs run inside the app.")
    jobs.work(current_app._get_current_object(), burst=burst)


# ----------------------------------------------------------------------------- deletion, retention

delete_cli = AppGroup("delete", help="Delete a response, contact details, a session or a campaign.")
retention_cli = AppGroup("retention", help="Delete what has outlived its retention period.")
_yes = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


def _confirm(yes: bool, what: str) -> None:
    if not yes:
        click.confirm(f"Delete {what}? This cannot be undone.", abort=True)


def _echo_counts(counts: dict) -> None:
    click.echo(", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in counts.items()
                         if n is not None))


def _response(response_id: int):
    from surveyapp.extensions import db
    from surveyapp.models import Response
    row = db.session.get(Response, response_id)
    if row is None:
        raise click.ClickException(f"no response {response_id}")
    return row


@delete_cli.command("response")
@click.argument("response_id", type=int)
@_yes
def delete_response(response_id, yes):
    """Delete response RESPONSE_ID with its contact details, drafts, scores and themes' quotes."""
    row = _response(response_id)
    _confirm(yes, f"response {row.id} of campaign {row.campaign.code}")
    _echo_counts(operations.transaction(lambda: operations.deletion.delete_response(row, **CLI)))


@delete_cli.command("contact")
@click.argument("response_id", type=int)
@_yes
def delete_contact(response_id, yes):
    """Delete the contact details (pii answers) of response RESPONSE_ID; keep its answers."""
    row = _response(response_id)
    _confirm(yes, f"the contact details of response {row.id}")
    _echo_counts(operations.transaction(
        lambda: operations.deletion.delete_contact_details(row, **CLI)))


@delete_cli.command("session")
@click.argument("session_id", type=int)
@_yes
def delete_session(session_id, yes):
    """Delete focus-group session SESSION_ID with its roster, transcript and notes."""
    from surveyapp.extensions import db
    from surveyapp.models import FocusGroupSession
    session = db.session.get(FocusGroupSession, session_id)
    if session is None:
        raise click.ClickException(f"no focus-group session {session_id}")
    _confirm(yes, f"focus-group session {session.id} ({session.guide_id}, {session.site.name})")
    _echo_counts(operations.transaction(
        lambda: operations.deletion.delete_session(session, **CLI)))


@delete_cli.command("campaign")
@click.argument("code")
@_yes
def delete_campaign(code, yes):
    """Delete the campaign CODE with every response to it."""
    campaign = queries.campaigns.campaign_by_code(code)
    if campaign is None:
        raise click.ClickException(f"no campaign with code {code!r}")
    counts = queries.campaigns.response_counts(campaign.id)
    _confirm(yes, f"campaign {campaign.code} and its {counts['complete'] + counts['partial']} responses")
    _echo_counts(operations.transaction(
        lambda: operations.deletion.delete_campaign(campaign, **CLI)))


@retention_cli.command("run")
def retention_run():
    """Delete contact details older than RETENTION_CONTACT_DAYS and held forms older than
    RETENTION_HELD_DAYS (each off when unset); print and audit-record the counts."""
    config = current_app.config
    try:
        counts = operations.transaction(lambda: operations.deletion.run_retention(config, **CLI))
    except ValueError as error:
        raise click.ClickException(f"retention settings: {error}") from None
    for name, count in counts.items():
        click.echo(f"{name.replace('_', ' ')}: " + ("kept (no retention period set)"
                                                    if count is None else f"{count} deleted"))


# ----------------------------------------------------------------------------- backup

@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path):
    """Write a consistent snapshot of the database to PATH while the app keeps serving
    (SQLite: the online backup API; PostgreSQL: pg_dump's custom format)."""
    try:
        snapshot = operations.backup.backup(path)
    except operations.backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    # Recorded after the snapshot (so not in it): a backup takes every answer off the server.
    operations.transaction(lambda: _audit("database.backed_up", target_type="backup",
                                          details={"kind": snapshot.kind, "bytes": snapshot.bytes}))
    click.echo(f"wrote {snapshot.path} ({snapshot.kind}, {snapshot.bytes} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@with_appcontext
def restore_command(path, force):
    """Replace the database with the backup at PATH. Stop the app first. Refuses a
    database that holds data unless --force; then run `surveyapp db upgrade`."""
    try:
        kind = operations.backup.restore(path, force=force)
    except operations.backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    from sqlalchemy import inspect
    from surveyapp.extensions import db
    if "audit_events" in inspect(db.engine).get_table_names():
        operations.transaction(lambda: _audit("database.restored", target_type="backup",
                                              details={"kind": kind, "forced": force}))
    else:  # a backup from before the audit log: `db upgrade` adds it
        click.echo("note: this backup predates the audit log; the restore is not recorded", err=True)
    click.echo(f"restored {path} ({kind}); now run `surveyapp db upgrade`")
