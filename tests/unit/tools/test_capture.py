"""capture (tcpdump) on loopback: counts match tcpdump's reading of the file; caps; refusals."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.testing.contract import refusal
from vantagepoint.tools.base import ActionEnv, RunContext
from vantagepoint.tools.capture import Capture, parse_counts

SKIP = root_skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def on_lo(tmp_path) -> ActionEnv:
    return ActionEnv(node="n", action="cap", device="lo", workdir=str(tmp_path))


def capture_while(env: ActionEnv, config: dict, seconds: float, traffic) -> tuple[dict, list]:
    """Run a capture; once tcpdump listens, run ``traffic()``; results by name and logs."""
    results, logs, listening = {}, [], threading.Event()

    def log(message, level):
        logs.append((level, message))
        if message.startswith("capturing on"):
            listening.set()

    ctx = RunContext(emitter=lambda n, v, ts: results.setdefault(n, v), logger=log,
                     end=time.time() + seconds)
    tool = Capture(env)
    tool.init(config, [])
    thread = threading.Thread(target=tool.run, args=(ctx,))
    thread.start()
    try:
        assert listening.wait(5), logs
        traffic()
    finally:
        thread.join()
        tool.finish()
    return results, logs


# Other processes (this very test run elsewhere, too) may ping on lo meanwhile: capture
# only ours, by an IP length derived from our pid.
PAYLOAD = 1000 + os.getpid() % 1000
OURS = f"icmp and ip[2:2] == {20 + 8 + PAYLOAD}"


def ping(count: int = 5, interval: float = 0.2) -> None:
    subprocess.run(["ping", "-c", str(count), "-i", str(interval), "-W", "1",
                    "-s", str(PAYLOAD), "127.0.0.1"], capture_output=True)


def read_back(path) -> int:
    shown = subprocess.run(["tcpdump", "-n", "-r", str(path)], capture_output=True, text=True,
                           check=True).stdout
    return len(shown.splitlines())


def test_pings_are_captured_and_counted(tmp_path):
    results, logs = capture_while(on_lo(tmp_path), {"filter": OURS}, 3, ping)
    assert results["path"] == "capture.pcap"
    assert results["packets"] == 10  # 5 requests and 5 replies
    assert read_back(tmp_path / "capture.pcap") == 10
    assert results["bytes"] == (tmp_path / "capture.pcap").stat().st_size
    assert results["dropped"] == 0
    assert "stopped at the end of the period" in logs[-1][1]


def test_count_cap_stops_tcpdump(tmp_path):
    started = time.monotonic()
    results, logs = capture_while(on_lo(tmp_path), {"filter": OURS, "count": 4,
                                                    "file": "four.pcap"}, 30, ping)
    assert time.monotonic() - started < 10
    assert results["packets"] == 4 and read_back(tmp_path / "four.pcap") == 4
    assert "after its packet count" in logs[-1][1]


def test_size_cap_stops_tcpdump(tmp_path):
    started = time.monotonic()

    results, logs = capture_while(on_lo(tmp_path), {"filter": OURS, "max_bytes": 10_000},
                                  30, lambda: ping(40, 0.05))
    assert time.monotonic() - started < 10
    assert 10_000 <= results["bytes"] <= 20_000
    assert results["packets"] == read_back(tmp_path / "capture.pcap")
    assert "at the size cap (10000 bytes)" in logs[-1][1]


def test_bad_filter_is_refused_at_init(tmp_path):
    reason = refusal(Capture, {"filter": "icmp and"}, on_lo(tmp_path))
    assert reason == ("init: filter 'icmp and' refused on lo: can't parse filter "
                      "expression: syntax error")
    assert "no-such-proto" in refusal(Capture, {"filter": "no-such-proto"}, on_lo(tmp_path))


def test_filter_cannot_smuggle_options(tmp_path):
    reason = refusal(Capture, {"filter": "-w /tmp/elsewhere"}, on_lo(tmp_path))
    assert reason is not None and reason.startswith("init: filter")


def test_other_refusals(tmp_path):
    env = ActionEnv(node="n", action="cap", device="vptp-none", workdir=str(tmp_path))
    assert "does not exist" in refusal(Capture, {}, env)
    assert refusal(Capture, {"file": "../escape.pcap"}, on_lo(tmp_path))
    missing = ActionEnv(node="n", action="cap", device="lo", workdir=str(tmp_path / "gone"))
    with pytest.raises(ToolError, match="not a directory"):
        run_tool(Capture, {}, 1, env=missing)


def test_parse_counts():
    lines = ["tcpdump: listening on lo", "1 packet captured", "20 packets received by filter",
             "3 packets dropped by kernel"]
    assert parse_counts(lines) == {"packets": 1, "dropped": 3}
