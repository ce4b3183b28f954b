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


def test_scheduler_bench_runs():
    figures = _run("scheduler.py", "--small")
    names = ["alloc_s_per_schedule", "alloc_s_max", "single_node_req_per_s",
             "filtered_50_req_per_s", "first_fit_p50_ms", "first_fit_p99_ms"]
    names += [f"{kind}_{size}" for kind in ("single_node_req_per_s", "first_fit_p99_ms")
              for size in ("10k", "100k", "1m")]
    assert set(names) <= set(figures), figures
    assert all(float(figures[name]) > 0 for name in names), figures


def test_archive_bench_runs():
    figures = _run("archive.py", "--rows", "300", "--batch", "100")
    assert float(figures["archived_ingest_rows_per_s"]) > 0
    assert float(figures["archive_rows_per_s"]) > 0
    assert figures["archive_lost"] == "0" and figures["archive_duplicated"] == "0"
