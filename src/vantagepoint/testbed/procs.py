"""Processes of the testbed: started in a namespace, stopped by pid only if still theirs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vantagepoint.testbed.errors import TestbedError
from vantagepoint.testbed.state import ProcessRecord

STOP_GRACE_SECONDS = 5.0


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot); None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def python_argv(module: str, *args: str) -> list[str]:
    """`python -m MODULE ARGS` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def spawn(role: str, name: str, argv: list[str], log: Path, namespace: str | None = None,
          env: dict[str, str] | None = None) -> tuple[subprocess.Popen, ProcessRecord]:
    """Start ``argv`` (in ``namespace``) in its own session, output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full = ["ip", "netns", "exec", namespace, *argv] if namespace else argv
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log, "ab") as sink:
        process = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=sink,
                                   stderr=subprocess.STDOUT, env=environ,
                                   start_new_session=True)
    started = start_time(process.pid) or 0
    return process, ProcessRecord(role, name, process.pid, started, namespace, str(log))


def alive(record: ProcessRecord) -> bool:
    """True while the recorded process (and not a later one with its pid) runs."""
    return start_time(record.pid) == record.start_time


def stop(records: list[ProcessRecord], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM each process group, SIGKILL what is left after ``grace`` seconds."""
    living = [r for r in records if alive(r)]
    for record in living:
        _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while living and time.monotonic() < deadline:
        time.sleep(0.05)
        living = [r for r in living if alive(r)]
    for record in living:
        _signal_group(record.pid, signal.SIGKILL)


def kill_pids(pids: list[int], grace: float = 2.0) -> None:
    """SIGTERM, then SIGKILL, plain pids (what is left in a namespace being removed)."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(start_time(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if start_time(pid):
            _signal(pid, signal.SIGKILL)


def wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    """Wait until ``text`` shows in ``log``; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.02)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise TestbedError(f"{' '.join(map(str, process.args))} did not start; {log}:\n{tail}")


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        _signal(pid, sig)
    except PermissionError as exc:
        raise TestbedError(f"cannot signal process group {pid}: {exc}") from None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
