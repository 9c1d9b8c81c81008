"""Time and peak memory of reading hostile files, each in a fresh process (issue 20, item 5).

    .venv/bin/python bench/hostile_files.py                 # the issue's 600 MB zip bomb, ...
    .venv/bin/python bench/hostile_files.py --inflate 60    # a tenth of it (for older code)
    .venv/bin/python bench/hostile_files.py --timeout 600   # wait longer for older code
    .venv/bin/python bench/hostile_files.py --code DIR      # read with the surveyapp in DIR
                                                            # (git archive COMMIT | tar -x -C DIR)

Each line: the case, the file's size, seconds inside the call, the process's peak RSS,
and the outcome. The first line is a normal XLSForm: the peak RSS every process pays for
importing pyxform and openpyxl. The files are built as the tests build them.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.domain.test_workbook_limits import FORMS, MB, bomb, corner_xls  # noqa: E402
from tests.domain.test_yaml_limits import aliased_pages  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
from surveyapp.domain.instruments import InstrumentError, load_instrument
from surveyapp.domain.xlsform import XlsformError, import_xlsform
path = Path(sys.argv[1])
started = time.monotonic()
try:
    if path.suffix == ".yaml":
        load_instrument(path.read_text(encoding="utf-8"), str(path))
    else:
        import_xlsform(path)
    outcome = "read"
except (XlsformError, InstrumentError) as error:
    outcome = str(error).splitlines()[0]
except RecursionError:
    outcome = "RecursionError"
print(json.dumps({"seconds": time.monotonic() - started, "outcome": outcome,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(path: Path, timeout: float, code: Path) -> str:
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=code,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"still running after {timeout:.0f} s"
    if done.returncode:
        return f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1]}"
    result = json.loads(done.stdout)
    name = path.name
    outcome = result["outcome"].removeprefix(f"{name}: ").removeprefix(f"{path}:")
    return f"{result['seconds']:7.2f} s {result['peak_mb']:6.0f} MB  {outcome[:90]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflate", type=int, default=600, help="MB the bomb's cell inflates to")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for each")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code reads")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="surveyapp-hostile-"))
    deep = folder / "deep.yaml"
    deep.write_text("[" * 20_000, encoding="utf-8")
    aliased = folder / "aliased.yaml"
    aliased.write_text(aliased_pages(), encoding="utf-8")
    cases = [
        ("a normal XLSForm", FORMS / "or_other.xlsx"),
        (f"zip bomb, {args.inflate} MB", bomb(folder / "bomb.xlsx", args.inflate * MB)),
        ("zip directory that lies (200 MB)", bomb(folder / "forged.xlsx", 200 * MB, lie_to=1000)),
        (".xls padded to 16.7M cells", corner_xls(folder / "corner.xls")),
        ("YAML, '[' x 20,000", deep),
        ("YAML, aliased pages", aliased),
    ]
    for label, path in cases:
        print(f"{label:34} {path.stat().st_size:>9,} B {measure(path, args.timeout, args.code)}", flush=True)


if __name__ == "__main__":
    main()
