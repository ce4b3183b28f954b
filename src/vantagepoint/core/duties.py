"""The core's background duties, ticked by one thread: bookings become executions,
idle low-priority work starts, and executions advance through their states."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core.processors import Processor, process_ended
from vantagepoint.core.run.coordinator import advance_all
from vantagepoint.core.scheduler.materialize import materialize_due
from vantagepoint.core.scheduler.model import Policy
from vantagepoint.core.scheduler.service import start_waiting
from vantagepoint.core.scheduler.system import SystemSchedules

log = logging.getLogger(__name__)


def tick(sessions: sessionmaker, settings: CoreSettings, policies: list[Policy],
         processors: list[Processor]) -> None:
    """One round of every duty; a failing duty is logged and does not stop the others."""
    for duty in (lambda: materialize_due(sessions, settings),
                 lambda: start_waiting(sessions, settings, policies),
                 lambda: advance_all(sessions, settings),
                 lambda: process_ended(sessions, processors)):
        try:
            duty()
        except Exception:
            log.exception("background duty failed")


class Coordinator:
    """A daemon thread that runs ``tick``; started and stopped with the app."""

    def __init__(self, sessions: sessionmaker, settings: CoreSettings, policies: list[Policy],
                 processors: list[Processor]):
        self.sessions, self.settings, self.policies = sessions, settings, policies
        self.processors = processors
        self.system = SystemSchedules(sessions, settings, policies)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="coordinator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.tick_seconds):
            tick(self.sessions, self.settings, self.policies, self.processors)
            try:
                self.system.maybe_run()  # keeps heavy background measurements booked
            except Exception:
                log.exception("booking system schedules failed")
