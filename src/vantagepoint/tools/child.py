"""A program a tool runs in the background: its own session, its output kept.

Shared by the tools that wrap a long-running program (``throughput``,
``capture``). The program runs without a shell in a new session, so that
stopping it (SIGTERM, then SIGKILL after a grace) reaches its children too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import IO

from vantagepoint.errors import ToolError

KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
DRAIN = 1.0  # seconds to wait for the output readers once the program is gone
MAX_LINES = 1_000_000  # per stream: a runaway program cannot exhaust memory

LineHook = Callable[[str, str], None]


class Child:
    """A running program; its stdout and stderr lines collected as they come."""

    def __init__(self, argv: list[str], on_line: LineHook | None = None):
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
        self.name = os.path.basename(argv[0])
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.status: int | None = None
        self.readers = [
            threading.Thread(target=self._pump, args=(pipe, stream, on_line), daemon=True,
                             name=f"{self.name}-{stream}")
            for stream, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))
        ]
        for reader in self.readers:
            reader.start()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stdout(self) -> str:
        """Everything the program wrote to stdout so far."""
        return "\n".join(self.lines["stdout"])

    def stderr(self) -> list[str]:
        return list(self.lines["stderr"])

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """End the program's whole session (``sig``, then SIGKILL); its exit status."""
        if self.status is None:
            if self.proc.poll() is None:
                _signal_group(self.proc.pid, sig)
                try:
                    self.proc.wait(KILL_GRACE)
                except subprocess.TimeoutExpired:
                    pass
            _signal_group(self.proc.pid, signal.SIGKILL)  # children left behind too
            self.status = self.proc.wait()
        for reader in self.readers:
            reader.join(DRAIN)
        return self.status

    def _pump(self, pipe: IO[bytes], stream: str, hook: LineHook | None) -> None:
        kept = self.lines[stream]
        with pipe:
            for raw in pipe:
                line = raw.decode(errors="replace").rstrip("\r\n")
                if len(kept) < MAX_LINES:
                    kept.append(line)
                if hook is not None:
                    hook(stream, line)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone
