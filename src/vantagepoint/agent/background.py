"""Continuous background ping: one ``ping`` process per measurement interface, all the time.

Each runs ``ping -n -D -O`` bound to its interface's device and is read by a
thread; every reply becomes a background result ``rtt_ms`` of action
``background-ping.<interface>``, every request unanswered a null. It runs
beside scheduled work and never waits for it. When a pinger dies the
watchdog notices and restarts it; the pinger does not restart itself.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
import time

from vantagepoint.agent.streams import StreamSpool

log = logging.getLogger(__name__)
REPLY = re.compile(r"^\[(\d+\.\d+)\] .*icmp_seq=(\d+) .*time=([\d.]+) ms")
LOST = re.compile(r"^\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)")
RESULT = "rtt_ms"


def action_name(interface: str) -> str:
    return f"background-ping.{interface}"


def parse_line(line: str) -> tuple[float, float | None] | None:
    """(timestamp, rtt in ms or None for a lost request) from one line of ping's output."""
    if match := REPLY.match(line):
        return float(match.group(1)), float(match.group(3))
    if match := LOST.match(line):
        return float(match.group(1)), None
    return None


class Pinger:
    """The background ping of one interface."""

    def __init__(self, interface: str, device: str | None, target: str, interval: float,
                 spool: StreamSpool):
        self.interface, self.device, self.target = interface, device, target
        self.interval, self.spool = interval, spool
        self.action = action_name(interface)
        self.proc: subprocess.Popen | None = None
        self.last_line = time.monotonic()
        self.replies = 0

    def argv(self) -> list[str]:
        ping = shutil.which("ping") or "ping"
        argv = [ping, "-n", "-D", "-O", "-i", f"{self.interval:g}", "-W", "1"]
        if self.device:
            argv += ["-I", self.device]
        return argv + [self.target]

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.last_line = time.monotonic()
        threading.Thread(target=self._read, args=(self.proc,), name=f"ping-{self.interface}",
                         daemon=True).start()

    def problem(self) -> str | None:
        """Why this pinger is not healthy, or None."""
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            return f"the background ping on {self.interface} is not running (exit {code})"
        silent = time.monotonic() - self.last_line
        if silent > 5 * self.interval + 5:
            return f"the background ping on {self.interface} printed nothing for {silent:.0f} s"
        return None

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            self.last_line = time.monotonic()
            parsed = parse_line(line)
            if parsed is None:
                if line.startswith("ping:"):
                    log.warning("background ping on %s: %s", self.interface, line.strip())
                continue
            ts, rtt = parsed
            self.spool.add_background(self.action, RESULT, ts, rtt)
            self.replies += rtt is not None
        proc.stdout.close()  # type: ignore[union-attr]
