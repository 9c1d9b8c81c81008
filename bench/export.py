"""The response export against raw openpyxl writing the same cells, at 10,000 and 100,000 responses.

For each size: a new SQLite file under /tmp gets that many synthetic
community-capacity responses (bulk inserts; answers drawn from a pool of 1,000
``synthetic_answers`` results, since generating each one validly takes longer than
the export). Then, each in its own process so that peak RSS is its own:

* **export**: ``queries.export.write_export`` to an .xlsx: the database read,
  the rows, the summary, the cell escaping and openpyxl, everything the CLI does;
* **raw**: openpyxl write-only writing the very same cells (values dumped
  beforehand, untimed, by running the export's row generators), with nothing else:
  the values as they are, and where the export styles a cell (bold wrapped headers,
  wrapped long-text columns) a ``WriteOnlyCell`` with that style, the way openpyxl's
  documentation writes one. The time spent unpickling those rows is left out.
* **raw values**: the same, with every value plain (no styled cell at all); printed
  for comparison, it is not the goal's baseline (its file is not the export's).

Printed: rows per CPU second of each (wall time too: on a shared machine it mostly
measures the neighbours), the ratio (export rows/s / raw rows/s; goal >= 0.8), peak
RSS of each and the export's RSS growth from the smaller to the larger size (goal
< 30 MB).

Each process runs ``--runs`` times (default 3), export, raw and raw values back to
back (in reverse order every other run), and the medians are printed, with the ratio
of each pair. ``--data DIR``
keeps the databases in DIR and reuses them on the next run (the inserts take longer
than the export).

``--instructions SIZE`` counts instructions instead (valgrind's cachegrind), at SIZE and
twice SIZE responses: the per-response difference gives a steady-state ratio that a
noisy machine does not move. Slow (about 50x), so use a small SIZE (2000).

    .venv/bin/python bench/export.py [--sizes 10000 100000] [--runs 3] [--data DIR]
    .venv/bin/python bench/export.py --instructions 2000 [--data DIR]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

POOL = 1000
BATCH = 5000


def app_on(path: Path):
    from surveyapp import create_app
    return create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})


def build(size: int, folder: Path) -> Path:
    """A migrated SQLite file with ``size`` complete synthetic responses to one campaign."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from surveyapp import operations, queries
    from surveyapp.domain.answers import Context
    from surveyapp.domain.synthetic import synthetic_answers
    from surveyapp.extensions import db
    from surveyapp.models import Response
    path = folder / f"export-{size}.db"
    app = app_on(path)
    with app.app_context():
        upgrade()
        operations.transaction(lambda: operations.instruments.sync_instruments([HERE.parent / "instruments"]))
        campaign = operations.transaction(lambda: operations.campaigns.create_campaign(
            "community-capacity", operations.campaigns.get_or_create_site("Bench"), "baseline"))
        version = queries.campaigns.campaign_version(campaign)
        instrument = queries.instruments.instrument_of(version)
        rng = random.Random(7)
        languages = ("en", "es", "fr", "ar", "zh", "vi", "so")
        pool = [(lang := languages[n % len(languages)],
                 synthetic_answers(instrument, rng, Context("Bench", "baseline", lang), rng.random()))
                for n in range(POOL)]
        start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
        for first in range(0, size, BATCH):
            rows = []
            for n in range(first, min(size, first + BATCH)):
                language, answers = pool[n % POOL]
                moment = start + dt.timedelta(seconds=37 * n)
                rows.append(dict(submission_id=uuid.uuid4(), campaign_id=campaign.id,
                                 instrument_version_id=version.id, language=language,
                                 status="complete", resume_code=f"B{n:015d}", answers=answers,
                                 source="api", started_at=moment,
                                 submitted_at=moment + dt.timedelta(minutes=12),
                                 received_at=moment + dt.timedelta(minutes=12), updated_at=moment))
            db.session.execute(sa.insert(Response), rows)
            db.session.commit()
        code = campaign.code
        db.session.remove()
        db.engine.dispose()
    return path, code


def run_export(path: Path, code: str, out: Path) -> dict:
    from surveyapp.queries import export
    app = app_on(path)
    with app.app_context():
        filters = export.filters_for(code)
        began, began_cpu = time.perf_counter(), time.process_time()
        result = export.write_export(filters, str(out))
        seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    return {"seconds": seconds, "cpu": cpu, "rows": result.responses}


def dump_cells(path: Path, code: str, dump: Path) -> None:
    """Every sheet's header and rows exactly as the writer receives them, pickled row by
    row (the export's own generators, so the raw run writes the same cells)."""
    from surveyapp.queries import export
    from surveyapp.domain.workbook import _excel_value
    app = app_on(path)
    with app.app_context(), dump.open("wb") as handle:
        for sheet in export.export_sheets(export.filters_for(code)):
            pickle.dump(("sheet", (sheet.title, [c.wrap for c in sheet.columns],
                                     len(sheet.header_rows))), handle)
            rows = sheet.rows
            for header in sheet.header_rows:
                pickle.dump(("row", header), handle)
            # The About sheet would count rows it has not seen: the raw run writes its shape only.
            for row in rows:
                pickle.dump(("row", [_excel_value(v) if not isinstance(v, str) else v for v in row]),
                            handle)


def run_raw(dump: Path, out: Path, *, styled: bool = True) -> dict:
    """openpyxl writing the dumped cells; with ``styled``, headers bold and wrapped and the
    export's wrapped columns wrapped, as a plain openpyxl program would style them."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    wrap, bold = Alignment(wrap_text=True, vertical="top"), Font(bold=True)
    workbook = Workbook(write_only=True)
    sheet = None
    unpickling = unpickling_cpu = 0.0
    rows = 0
    began, began_cpu = time.perf_counter(), time.process_time()
    with dump.open("rb") as handle:
        while True:
            before, before_cpu = time.perf_counter(), time.process_time()
            try:
                kind, value = pickle.load(handle)
            except EOFError:
                break
            unpickling += time.perf_counter() - before
            unpickling_cpu += time.process_time() - before_cpu
            if kind == "sheet":
                title, wrapped, headers = value
                sheet = workbook.create_sheet(title)
                wrapped = [i for i, w in enumerate(wrapped) if w] if styled else []
                counting, header_left = title == "Responses", headers
            elif header_left:
                if styled:
                    cells = []
                    for name in value:
                        cell = WriteOnlyCell(sheet, value=name)
                        cell.font, cell.alignment = bold, wrap
                        cells.append(cell)
                    value = cells
                sheet.append(value)
                header_left -= 1
                if not header_left:
                    sheet.freeze_panes = f"B{headers + 1}"
            else:
                for index in wrapped:
                    if index < len(value) and isinstance(value[index], str):
                        cell = WriteOnlyCell(sheet, value=value[index])
                        cell.alignment = wrap
                        value[index] = cell
                sheet.append(value)
                if counting:
                    rows += 1
    workbook.save(str(out))
    seconds = time.perf_counter() - began - unpickling
    cpu = time.process_time() - began_cpu - unpickling_cpu
    return {"seconds": seconds, "cpu": cpu, "rows": rows, "unpickling": unpickling}


def unpickle_only(dump: Path) -> dict:
    """What the raw runs spend reading the dump (the instruction count leaves it out)."""
    rows = 0
    with dump.open("rb") as handle:
        while True:
            try:
                pickle.load(handle)
            except EOFError:
                break
            rows += 1
    return {"rows": rows}


def child(argv) -> None:
    kind, *rest = argv
    if kind == "export":
        path, code, out = rest
        result = run_export(Path(path), code, Path(out))
    elif kind == "unpickle":
        result = unpickle_only(Path(rest[0]))
    else:
        dump, out = rest
        result = run_raw(Path(dump), Path(out), styled=kind == "raw")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def prepared(size: int, folder: Path) -> tuple[Path, str, Path]:
    """(database, campaign code, cell dump) for ``size`` responses: the database an earlier
    ``--data`` run left in ``folder``, else a new one; the dump is written afresh."""
    path, code_file = folder / f"export-{size}.db", folder / f"export-{size}.code"
    if path.exists() and code_file.exists():
        code = code_file.read_text().strip()
    else:
        began = time.perf_counter()
        path, code = build(size, folder)
        code_file.write_text(code)
        print(f"{size:,} responses inserted in {time.perf_counter() - began:.1f} s ({path})", flush=True)
    dump = folder / f"cells-{size}.pickle"
    dump_cells(path, code, dump)
    return path, code, dump


def medians(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def in_subprocess(*args) -> dict:
    reply = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], check=True,
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    return json.loads(reply.stdout.strip().splitlines()[-1])


def instructions_of(*args) -> int:
    """Instructions a child process executes, counted by valgrind (cachegrind)."""
    reply = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                            f"--cachegrind-out-file={os.devnull}", sys.executable, __file__,
                            "--child", *map(str, args)],
                           capture_output=True, text=True, check=True,
                           # A fixed hash seed: set and dict orders, hence counts, repeat.
                           env={**os.environ, "PYTHONPATH": str(HERE.parent), "PYTHONHASHSEED": "0"})
    match = re.search(r"I\s+refs:\s+([\d,]+)", reply.stderr)
    if match is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{reply.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def count_instructions(small: int, folder: Path) -> None:
    """The steady-state ratio by instructions executed, which a busy machine does not
    change: each side runs at ``small`` and at twice that many responses, and the
    difference, per response, is its cost of one more row (start-up and fixed costs
    cancel out). Unpickling the dump is counted apart and taken off the raw sides.
    Instructions are not time (cache misses are not in them): this complements the
    CPU-time runs, it does not replace them."""
    from concurrent.futures import ThreadPoolExecutor
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    jobs = {}
    for size in (small, 2 * small):
        path, code, dump = prepared(size, folder)
        jobs[("export", size)] = ("export", path, code, folder / f"export-{size}.xlsx")
        jobs[("raw", size)] = ("raw", dump, folder / f"raw-{size}.xlsx")
        jobs[("values", size)] = ("values", dump, folder / f"values-{size}.xlsx")
        jobs[("unpickle", size)] = ("unpickle", dump)
    # Counts do not depend on what else runs, so the runs share the cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda args: instructions_of(*args), jobs.values())))
    per_row = {side: (counts[side, 2 * small] - counts[side, small]) / small
               for side in ("export", "raw", "values", "unpickle")}
    raw = per_row["raw"] - per_row["unpickle"]
    values = per_row["values"] - per_row["unpickle"]
    print(f"instructions per response, from {small:,} to {2 * small:,} responses: "
          f"export {per_row['export']:,.0f}, raw {raw:,.0f}, raw values only {values:,.0f} "
          f"(unpickling {per_row['unpickle']:,.0f} taken off)")
    print(f"instruction ratio (raw / export; goal >= 0.8): {raw / per_row['export']:.3f}; "
          f"to raw values only {values / per_row['export']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="keep (and reuse) the databases here")
    parser.add_argument("--instructions", type=int, metavar="SIZE",
                        help="count instructions under valgrind at SIZE and 2 x SIZE responses "
                             "instead of timing")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    folder = args.data or Path(tempfile.mkdtemp(prefix="surveyapp-bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.instructions:
        count_instructions(args.instructions, folder)
        return
    results = {}
    for size in args.sizes:
        path, code, dump = prepared(size, folder)  # without --data, folder is new and empty
        runs = []
        for number in range(args.runs):
            # Odd runs start with the export, even runs end with it: a machine that speeds
            # up or slows down during a run then favours neither side.
            sides = {"export": (path, code, folder / f"export-{size}.xlsx"),
                     "raw": (dump, folder / f"raw-{size}.xlsx"),
                     "values": (dump, folder / f"raw-{size}.xlsx")}
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            ran = {side: in_subprocess(side, *sides[side]) for side in order}
            runs.append((ran["export"], ran["raw"], ran["values"]))
            export_run, raw_run, values_run = runs[-1]
            print(f"  run {number + 1}: export {export_run['cpu']:.1f} s CPU, raw "
                  f"{raw_run['cpu']:.1f} s CPU (values only {values_run['cpu']:.1f} s), ratio "
                  f"{raw_run['cpu'] / export_run['cpu']:.2f} (to values only "
                  f"{values_run['cpu'] / export_run['cpu']:.2f})", flush=True)
        candidate, raw, values = (medians([run[side] for run in runs]) for side in range(3))
        print(f"{size:>7,} rows  CPU s per run: export {[round(c['cpu'], 1) for c, _, _ in runs]}, "
              f"raw {[round(r['cpu'], 1) for _, r, _ in runs]}, "
              f"raw values only {[round(v['cpu'], 1) for _, _, v in runs]}", flush=True)
        assert candidate["rows"] == raw["rows"] == values["rows"] == size, (candidate, raw, values)
        # Each trio ran back to back, so its ratios share the machine's speed at the time;
        # on a shared machine the spread of these says more than any single run.
        for name, side in (("raw", 1), ("raw values only", 2)):
            pair_ratios = sorted(run[side]["cpu"] / run[0]["cpu"] for run in runs)
            print(f"{size:>7,} rows  ratio of each pair ({name} CPU / export CPU), sorted: "
                  f"{[round(x, 2) for x in pair_ratios]}, median {statistics.median(pair_ratios):.2f}",
                  flush=True)
        # CPU seconds decide the ratio: on a shared machine wall time measures the neighbours.
        export_rate, raw_rate = size / candidate["cpu"], size / raw["cpu"]
        results[size] = candidate
        print(f"{size:>7,} rows  medians of {args.runs}: export {export_rate:7,.0f} rows/s of CPU ({candidate['cpu']:.1f} s CPU, "
              f"{candidate['seconds']:.1f} s wall, peak RSS {candidate['peak_rss_mb']:.0f} MB)   "
              f"raw openpyxl {raw_rate:7,.0f} rows/s of CPU ({raw['cpu']:.1f} s CPU, "
              f"{raw['seconds']:.1f} s wall, unpickling {raw['unpickling']:.1f} s left out, "
              f"peak RSS {raw['peak_rss_mb']:.0f} MB)   ratio {export_rate / raw_rate:.2f} "
              f"(goal >= 0.8; wall-time ratio {raw['seconds'] / candidate['seconds']:.2f}; "
              f"to raw values only {values['cpu'] / candidate['cpu']:.2f})", flush=True)
        for name in (dump, folder / f"raw-{size}.xlsx", folder / f"export-{size}.xlsx"):
            name.unlink()
    if len(results) > 1:
        small, large = min(results), max(results)
        growth = results[large]["peak_rss_mb"] - results[small]["peak_rss_mb"]
        print(f"export peak RSS growth {small:,} -> {large:,}: {growth:.1f} MB (goal < 30 MB)")


if __name__ == "__main__":
    main()
