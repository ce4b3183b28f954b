"""The agent's watchdog: checks its services, restarts a failing one, gives up to maintenance.

Each check names a problem or None. A problem is logged, raised as a
``Watchdog.Failed`` node event and repaired (the service restarted). When one
check fails ``failures`` times within ``window`` seconds the node enters
maintenance: the agent stops its running work and takes none, the core is
told (it stops scheduling on the node) and ``Maintenance.Start`` goes on the
bus. It leaves maintenance when an administrator has made the node active
again at the core (``vantage node resume NAME``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from vantagepoint.agent.client import FAILURES, CoreClient, describe
from vantagepoint.agent.uploader import _Periodic

log = logging.getLogger(__name__)


@dataclass
class Check:
    """One service the watchdog looks after."""

    name: str
    problem: Callable[[], str | None]
    repair: Callable[[], None]
    failures: deque = field(default_factory=deque)  # monotonic times of recent failures
    # A condition (disk full) rather than a broken service: its events when it starts and
    # ends, repaired each time, never counted toward maintenance (a restart cannot fix it).
    condition: tuple[str, str] | None = None
    active: bool = False


class Watchdog(_Periodic):
    """Runs every check every ``period`` seconds."""

    def __init__(self, checks: list[Check], client: CoreClient, event: Callable[[str, str], None],
                 period: float, failures: int, window: float):
        super().__init__("watchdog", period)
        self.checks, self.client, self.event = checks, client, event
        self.period, self.failures, self.window = period, failures, window
        self.maintenance: str | None = None  # the reason, while in maintenance
        self._reported = False
        self.restarts: dict[str, int] = {}

    def tick(self) -> float:
        if self.maintenance is not None:
            self._while_in_maintenance()
        else:
            for check in self.checks:
                self._run(check)
                if self.maintenance is not None:
                    break
        return self.period

    def _run(self, check: Check) -> None:
        try:
            problem = check.problem()
        except Exception as exc:  # noqa: BLE001 - a check that raises has found a problem
            problem = f"{type(exc).__name__}: {exc}"
        if check.condition is not None:
            self._condition(check, problem)
            return
        if problem is None:
            return
        now = time.monotonic()
        check.failures.append(now)
        while check.failures and check.failures[0] < now - self.window:
            check.failures.popleft()
        if len(check.failures) >= self.failures:
            self.enter(f"the watchdog's check {check.name!r} failed {len(check.failures)} times "
                       f"within {self.window:g} s; last: {problem}")
            return
        log.warning("watchdog: %s; restarting it", problem)
        self.event("Watchdog.Failed", f"{check.name}: {problem}")
        self._repair(check)

    def _condition(self, check: Check, problem: str | None) -> None:
        raised, cleared = check.condition  # type: ignore[misc]
        if problem is not None:
            if not check.active:
                log.error("watchdog: %s", problem)
                self.event(raised, problem)
            check.active = True
            self._repair(check, quiet=True)
        elif check.active:
            check.active = False
            log.warning("watchdog: %s is over", check.name)
            self.event(cleared, f"{check.name}: the condition is over")

    def _repair(self, check: Check, quiet: bool = False) -> None:
        try:
            check.repair()
        except Exception as exc:  # noqa: BLE001 - counted as the next failure
            log.error("watchdog: restarting %s failed: %s", check.name, exc)
            return
        if quiet:
            return
        self.restarts[check.name] = self.restarts.get(check.name, 0) + 1
        self.event("Watchdog.Repaired", f"{check.name} restarted")

    def enter(self, reason: str) -> None:
        """Put the node in maintenance (the agent's loop stops its work)."""
        log.error("entering maintenance: %s", reason)
        self.maintenance, self._reported = reason, False
        self.event("Maintenance.Start", reason)
        self._report()

    def _report(self) -> None:
        try:
            self.client.enter_maintenance(self.maintenance or "")
        except FAILURES as exc:
            log.warning("telling the core about maintenance failed (will retry): %s",
                        describe(exc))
            return
        self._reported = True

    def _while_in_maintenance(self) -> None:
        if not self._reported:
            self._report()
            return
        try:
            status = self.client.status()
        except FAILURES as exc:
            log.debug("asking the core for this node's status failed: %s", describe(exc))
            return
        if status.status == "active":
            self._leave()

    def _leave(self) -> None:
        log.warning("leaving maintenance: an administrator made the node active")
        self.maintenance = None
        self.event("Maintenance.Stop", "an administrator made the node active again")
        for check in self.checks:
            check.failures.clear()
            if _safe_problem(check):
                self._repair(check)


def _safe_problem(check: Check) -> str | None:
    try:
        return check.problem()
    except Exception as exc:  # noqa: BLE001
        return str(exc)
