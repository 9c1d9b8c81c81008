"""The Capacity charts sheet as a real spreadsheet program prints it: LibreOffice turns the
workbook into a PDF, and each site's block (its small table and its chart) is on a page
of its own, whole. The PDF is kept in tests/artifacts/ to look at."""
from __future__ import annotations

import random
import re
import shutil
import subprocess

import pytest

from surveyapp.domain import export
from surveyapp.domain.scoring import capacity_table
from surveyapp.domain.workbook import write_workbook
from tests.conftest import ARTIFACTS, missing

DOMAINS = {"resources": "Resources", "skills": "Skills and knowledge",
           "participation": "Active participation", "trust": "Trust and collaboration",
           "safety": "Safety"}


@pytest.fixture
def tools():
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if not soffice or not pdftotext:
        missing("LibreOffice and pdftotext", "apt-get install libreoffice-calc-nogui poppler-utils")
    return soffice, pdftotext


def test_libreoffice_prints_each_site_block_with_its_chart_on_one_page(tools, tmp_path):
    soffice, pdftotext = tools
    rng = random.Random(3)
    rows = [(site, wave, domain, rng.uniform(20, 80) + (8 if wave != "baseline" else 0))
            for site in ("Hillcrest", "Riverside", "Eastgate") for wave in ("baseline", "follow-up 1")
            for domain in DOMAINS for _ in range(12)]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], domains=list(DOMAINS))
    book = tmp_path / "capacity.xlsx"
    write_workbook([export.capacity_sheet(table, DOMAINS), export.capacity_chart_sheet(table, DOMAINS)],
                   str(book))
    # Only the chart sheet: a copy of the workbook's chart sheet printed alone.
    charts_only = tmp_path / "capacity-charts.xlsx"
    write_workbook([export.capacity_chart_sheet(table, DOMAINS)], str(charts_only))
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(charts_only), str(book)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "capacity-charts.pdf"
    pages = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")
    pages = [page for page in pages if page.strip()]
    places = [*table.sites, "All sites"]
    assert len(pages) == len(places)
    for place, page in zip(places, pages):
        # The block's table and its chart (title, axis, legend) share the page, alone.
        assert f"{place}: mean scores (0-100)" in page
        assert re.search(rf"{place}: capacity by domain", page), page
        assert "Baseline" in page and "Follow-up 1" in page and "100" in page
        assert not any(f"{other}: mean scores" in page for other in places if other != place)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "capacity-charts.pdf")
    shutil.copy(tmp_path / "capacity.pdf", ARTIFACTS / "capacity-workbook.pdf")
