"""The core's background duties, ticked by one thread: bookings become executions,
idle low-priority work starts, and executions advance through their states.

They run in one core process at a time: the one holding the duties lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core.lease import Lease, holder_of, process_id
from vantagepoint.core.processors import Processor, process_ended
from vantagepoint.core.run.coordinator import advance_all
from vantagepoint.core.scheduler.materialize import materialize_due
from vantagepoint.core.scheduler.model import Policy
from vantagepoint.core.scheduler.service import start_waiting
from vantagepoint.core.scheduler.system import SystemSchedules
from vantagepoint.core.store.db import Outage

log = logging.getLogger(__name__)


def tick(sessions: sessionmaker, settings: CoreSettings, policies: list[Policy],
         processors: list[Processor], outage: Outage | None = None) -> None:
    """One round of every duty; a failing duty is logged and does not stop the others.

    While the database is away (a restart) the round ends at the first duty that
    finds it so, said once per outage; the next round after it is back goes on.
    """
    outage = outage or Outage(log, "the duties")
    for duty in (lambda: materialize_due(sessions, settings),
                 lambda: start_waiting(sessions, settings, policies),
                 lambda: advance_all(sessions, settings),
                 lambda: process_ended(sessions, processors)):
        try:
            duty()
        except Exception as exc:
            if outage.failed(exc):
                return
            log.exception("background duty failed")
    outage.ok()


class Coordinator:
    """Daemon threads: one keeps the duties lease, the others run duties while it is held.

    Only the process holding the lease (see core.lease) ticks, so every duty runs in
    exactly one core process at a time; ``add_loop`` adds more leased duties, each in
    its own thread so that a slow one (an archiver waiting on a broker) delays no other.
    """

    def __init__(self, sessions: sessionmaker, settings: CoreSettings, policies: list[Policy],
                 processors: list[Processor], holder: str | None = None):
        self.sessions, self.settings, self.policies = sessions, settings, policies
        self.processors = processors
        self.system = SystemSchedules(sessions, settings, policies)
        self.lease = Lease(sessions, holder or process_id(), settings.duties_lease_seconds)
        self.ticks = 0
        self.outage = Outage(log, "the duties")
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._keep_lease, name="duties-lease",
                                          daemon=True)]
        self.add_loop("coordinator", settings.tick_seconds, self._tick)

    def add_loop(self, name: str, period: float, duty: Callable[[], None],
                 finish: Callable[[], None] | None = None) -> None:
        """Run ``duty`` every ``period`` seconds while this process holds the lease, and
        ``finish`` in the same thread on stop (resources a duty keeps are thread-bound)."""
        self._threads.append(threading.Thread(target=self._loop, args=(period, duty, finish),
                                              name=name, daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)
        try:
            self.lease.release()
        except Exception:
            log.exception("could not release the duties lease")

    def status(self) -> dict[str, object]:
        """This process's part: its id, whether it runs the duties, ticks run so far."""
        return {"process": self.lease.holder, "runs_duties": self.lease.held(),
                "duty_ticks": self.ticks}

    def _keep_lease(self) -> None:
        while not self._stop.is_set():
            try:
                self.lease.try_hold()
            except Exception:
                log.exception("could not take or renew the duties lease")
            self._stop.wait(self.settings.duties_renew_seconds)

    def _tick(self) -> None:
        tick(self.sessions, self.settings, self.policies, self.processors, self.outage)
        self.ticks += 1
        try:
            self.system.maybe_run()  # keeps heavy background measurements booked
        except Exception:
            log.exception("booking system schedules failed")

    def _loop(self, period: float, duty: Callable[[], None],
              finish: Callable[[], None] | None) -> None:
        try:
            self._repeat(period, duty)
        finally:
            if finish is not None:
                finish()

    def _repeat(self, period: float, duty: Callable[[], None]) -> None:
        while not self._stop.wait(period):
            if not self.lease.held():
                continue
            try:
                duty()
            except Exception:
                log.exception("background duty %s failed", threading.current_thread().name)


def duty_status(app) -> dict[str, object]:
    """This process's part in the duties and who holds them, for GET /health."""
    coordinator: Coordinator | None = getattr(app.state, "coordinator", None)
    if coordinator is None:
        return {}
    status = coordinator.status()
    try:
        with coordinator.sessions() as db:
            status["duties"] = holder_of(db)
    except Exception as exc:  # noqa: BLE001 - health answers even when the database does not
        status["duties"] = {"error": f"{exc.__class__.__name__}: the database did not answer"}
    return status
