"""`surveyapp translate extract|update|compile`: the interface catalogs, through pybabel."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask.cli import AppGroup

from surveyapp.config import PROJECT_ROOT


translate_cli = AppGroup("translate", help="Interface catalogs (pybabel).")


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
