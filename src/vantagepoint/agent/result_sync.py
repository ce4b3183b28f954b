"""Experiments' result files go to the core during the run and once more at its end.

Every ``period`` seconds each watched action's ``results`` directory is walked
and each file whose size or modification time changed since it was last sent
is pushed (``PUT /agent/executions/{id}/files``); the core keeps the newest
copy. When the run ended (finished, failed or canceled: partial results are
kept), a final pass runs; the execution counts as synced once that pass sent
everything.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vantagepoint.agent.client import FAILURES, CoreClient, describe, is_permanent
from vantagepoint.agent.uploader import _Periodic

log = logging.getLogger(__name__)
RESULTS = "results"


@dataclass
class _Watch:
    actions: list[str]
    ending: bool = False
    sent: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


class ResultSync(_Periodic):
    """Pushes changed result files of watched executions to the core."""

    def __init__(self, client: CoreClient, work_root: Path, period: float):
        super().__init__("result-sync", period)
        self.client, self.work_root, self.period = client, work_root, period
        self._watches: dict[int, _Watch] = {}
        self._lock = threading.Lock()

    def watch(self, execution_id: int, actions: list[str]) -> None:
        with self._lock:
            self._watches.setdefault(execution_id, _Watch(actions))

    def ended(self, execution_id: int) -> None:
        """The run is over: one last pass, now."""
        with self._lock:
            watch = self._watches.get(execution_id)
            if watch is None or watch.ending:
                return
            watch.ending = True
        self.kick()

    def ended_all(self) -> None:
        """The agent stops: every watched run gets its last pass."""
        with self._lock:
            for watch in self._watches.values():
                watch.ending = True

    def synced(self, execution_id: int) -> bool:
        """True when nothing of this execution waits to be sent."""
        with self._lock:
            return execution_id not in self._watches

    def tick(self, deadline: float | None = None) -> float:
        """One pass over every watched execution (until ``deadline``, monotonic)."""
        with self._lock:
            watches = list(self._watches.items())
        for execution_id, watch in watches:
            ending = watch.ending  # read before the pass: files are final once it is set
            if self._pass(execution_id, watch, deadline) and ending:
                with self._lock:
                    self._watches.pop(execution_id, None)
        return self.period

    def _pass(self, execution_id: int, watch: _Watch, deadline: float | None) -> bool:
        """Send what changed; False when something must be tried again."""
        complete = True
        for action in watch.actions:
            base = self.work_root / str(execution_id) / action
            for path in sorted((base / RESULTS).rglob("*")):
                if deadline is not None and time.monotonic() > deadline:
                    return False
                if path.is_file() and not path.is_symlink():
                    complete &= self._send(execution_id, action, base, path, watch)
        return complete

    def _send(self, execution_id: int, action: str, base: Path, path: Path,
              watch: _Watch) -> bool:
        relative = str(path.relative_to(base))
        try:
            stat = path.stat()
        except OSError:
            return True  # gone meanwhile
        stamp = (stat.st_size, stat.st_mtime_ns)
        if watch.sent.get((action, relative)) == stamp:
            return True
        try:
            self.client.push_file(execution_id, action, relative, path)
        except FAILURES as exc:
            if is_permanent(exc):
                log.error("execution %s: the core refused %s for good: %s", execution_id,
                          relative, describe(exc))
                watch.sent[(action, relative)] = stamp
                return True
            log.warning("execution %s: sending %s failed (will retry): %s", execution_id,
                        relative, describe(exc))
            return False
        except OSError:
            return True  # removed while it was read
        watch.sent[(action, relative)] = stamp
        return True
