"""Every benchmark still runs and prints name=value lines (tiny sizes, no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines and all(re.fullmatch(r"[a-z0-9_]+=\S+", line) for line in lines), lines
    return dict(line.split("=", 1) for line in lines)


def test_ingest_bench_runs():
    figures = _run("ingest.py", "--rows", "300", "--batch", "100")
    assert float(figures["ingest_rows_per_s"]) > 0
    assert figures["duplicated"] == "0"
