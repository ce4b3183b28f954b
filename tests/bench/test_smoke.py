"""Every benchmark still runs and prints name=value lines (tiny sizes, no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.testbed.conftest import IN_CI, _missing

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str, timeout: float = 180) -> dict[str, str]:
    out = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                         text=True, timeout=timeout)
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


def test_web_bench_runs():
    from tests.browser.conftest import CHROMIUM, require_chromium

    require_chromium()
    figures = _run("web.py", "--results", "2000", "--nodes", "3", "--chromium", CHROMIUM)
    for page in ("fleet", "execution"):
        assert float(figures[f"{page}_tti_ms"]) > 0, figures
        assert int(figures[f"{page}_bytes"]) > 10_000, figures  # page, scripts, styles


def test_alarms_bench_runs():
    figures = _run("alarms.py", "--alarms", "3")
    assert figures["alarms"] == "3"
    assert 0 < float(figures["alarm_p50_s"]) <= float(figures["alarm_p99_s"])


def test_experiment_bench_runs():
    figures = _run("experiment.py", "--mb", "2", "--runs", "2")
    assert float(figures["layer_prepare_mb_per_s"]) > 0
    if "sandbox_start_ms" in figures:  # where bubblewrap is installed
        assert float(figures["sandbox_start_ms"]) > 0 and float(figures["bare_start_ms"]) > 0


def test_bus_bench_runs():
    figures = _run("bus.py", "--messages", "2000", "--rounds", "1")
    assert float(figures["bus_msgs_per_s"]) > 0 and float(figures["bare_msgs_per_s"]) > 0
    assert float(figures["bus_ratio"]) > 0
    assert figures["lost"] == "0"


def test_agent_footprint_bench_runs():
    figures = _run("agent_footprint.py", "--seconds", "3", "--warmup", "3")
    assert float(figures["agent_rss_mb"]) > 0
    assert float(figures["agent_cpu_pct"]) >= 0
    assert int(figures["background_results"]) > 0


def test_studies_bench_runs():
    figures = _run("studies.py", "--axes", "2,2", "--addresses", "200")
    assert figures["combinations"] == "4"
    names = ["study_create_ms", "study_rerun_ms", "anonymise_ipv4_per_s",
             "anonymise_ipv6_per_s", "convert_per_s"]
    assert all(float(figures[name]) > 0 for name in names), figures


def test_accuracy_bench_runs():
    """Needs root (a testbed); run it under `flock /tmp/vp-testbed.lock`."""
    reason = _missing()
    if reason and IN_CI:
        pytest.fail(reason + " (CI=true: the accuracy bench must run)")
    if reason:
        pytest.skip(reason)
    figures = _run("accuracy.py", "--tiny", timeout=400)
    names = ["ping_vs_iputils_median_us", "send_error_pct", "send_late_pct",
             "owd_error_median_ms", "owd_rtt_closure_us", "goodput_ratio_10mbit",
             "goodput_ratio_50mbit"]
    assert set(names) <= set(figures), figures
    assert all(0 < float(figures[f"goodput_ratio_{r}mbit"]) <= 1.05 for r in (10, 50))
    assert float(figures["owd_error_median_ms"]) < 5, figures  # of a 20 ms delay


def test_analysis_bench_runs():
    figures = _run("analysis.py", "--rows", "3000", "--repeat", "1")
    assert figures["rows"] == "3000" and figures["series_rows"] == "3000"
    for name in ("bucket_query_ms", "percentile_query_ms", "bucket_query_user_ms",
                 "percentile_query_user_ms"):
        assert float(figures[name]) > 0, figures


def test_archive_bench_runs():
    figures = _run("archive.py", "--rows", "300", "--batch", "100")
    assert float(figures["archived_ingest_rows_per_s"]) > 0
    assert float(figures["archive_rows_per_s"]) > 0
    assert figures["archive_lost"] == "0" and figures["archive_duplicated"] == "0"


def test_hardening_bench_runs():
    figures = _run("hardening.py", "--ops", "2000", "--requests", "20")
    for name in ("limiter_takes_per_s", "redact_lines_per_s", "api_req_per_s",
                 "api_req_per_s_unlimited"):
        assert float(figures[name]) > 0, figures
    assert "limit_overhead_pct" in figures

@pytest.mark.timeout(900)  # three core processes start; slow on a loaded machine
def test_fleet_bench_runs():
    figures = _run("fleet.py", "--small", timeout=840)
    for suffix in ("", "_sqlite"):
        assert float(figures[f"ingest_rows_per_s{suffix}"]) > 0, figures
        assert float(figures[f"api_p99_ms{suffix}"]) > 0, figures
        assert float(figures[f"api_p99_warmup_ms{suffix}"]) > 0, figures
        assert int(figures[f"api_calls{suffix}"]) > 20, figures  # heartbeats and uploads
        assert figures[f"lost{suffix}"] == "0" and figures[f"duplicated{suffix}"] == "0"
        assert figures[f"checksum_match{suffix}"] == "1", figures
    assert 0 < float(figures["ingest_vs_copy"]) < 10, figures

def test_agent_requests_bench_runs():
    figures = _run("agent_requests.py", "--agents", "4", "--duration", "2", "--configs",
                   "sqlite")
    assert float(figures["requests_per_s_sqlite"]) > 0, figures
    assert float(figures["core_cpu_us_per_request_sqlite"]) > 0, figures
    assert figures["request_errors_sqlite"] == "0", figures


def test_storage_bench_runs():
    from tests.conftest import PG_URL, _pg_reachable

    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: the storage bench needs PostgreSQL)")
        pytest.skip(reason)
    figures = _run("storage.py", "--small", "--admin-url", PG_URL)
    assert int(figures["rows"]) > 50_000 and int(figures["partitions"]) >= 3, figures
    names = ["exec_summary_ms", "exec_chart_ms", "exec_cdf_ms", "exec_stats_ms", "exec_log_ms",
             "exec_results_page_ms", "node_rtt_day_ms", "node_rtt_week_ms", "stats_week_ms",
             "buckets_week_ms", "stream_poll_ms", "load_s", "index_s"]
    assert all(float(figures[name]) > 0 for name in names), figures
