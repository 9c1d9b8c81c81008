"""`surveyapp themes`: find and store the themes of a question's answers or a prompt's
segments, as the analysis page does, with progress bars on long runs."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from surveyapp import operations, queries
from surveyapp.cli.common import CLI, find_project
from surveyapp.domain.instruments import GUIDE_NAMES


LONG_RUN = 500     # texts from which the command shows a progress bar


def _theme_source(target: str, question: str | None, prompt: str | None, project: str | None):
    """The source TARGET (a campaign code or an instrument id) and the options name."""
    from surveyapp.queries.themes import Source, themeable_questions
    campaign = queries.campaigns.campaign_by_code(target)
    version = queries.instruments.latest_version(campaign.instrument_id if campaign else target)
    if version is None:
        raise click.ClickException(f"'{target}' is neither a campaign code nor an instrument id")
    instrument = queries.instruments.instrument_of(version)
    if instrument.is_guide:   # a focus-group or interview guide: its prompts are themed
        if question or not prompt:
            raise click.ClickException(f"{instrument.id} is {GUIDE_NAMES[instrument.kind]}: "
                                       "give --prompt, one of "
                                       + ", ".join(p.id for p in instrument.prompts))
        if instrument.prompt(prompt) is None:
            raise click.ClickException(f"{instrument.id} has no prompt '{prompt}'")
        return Source("prompt", find_project(project).id, instrument.id, prompt)
    choices = [q.id for q in themeable_questions(instrument)]
    if prompt or not question:
        raise click.ClickException(f"{instrument.id} is a questionnaire: give --question, one of "
                                   + ", ".join(choices))
    if question not in choices:
        raise click.ClickException(f"'{question}' is not a free-text question of {instrument.id}; "
                                   "choose one of " + ", ".join(choices))
    if campaign is not None:
        return Source("question", campaign.project_id, instrument.id, question, campaign.id)
    return Source("question", find_project(project).id, instrument.id, question)


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
