"""The core's alarm duty: watch derived results, then deliver every new alarm.

One daemon thread per core process ticks every ``alarm_poll_seconds`` (and
at once when an agent's alarms arrive here). Alarms are claimed row by row
with a conditional update, so with several core processes each alarm is
delivered by one; a claim older than ``CLAIM_TIMEOUT`` (its process died) is
taken over. Notifiers run in a thread pool, so a webhook that retries does
not hold up the next alarm.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core.alarms.derived import DerivedWatch
from vantagepoint.core.alarms.notifiers import Notice, Notifier
from vantagepoint.core.alarms.reactions import react, reactions_for
from vantagepoint.core.alarms.store import alarm_out
from vantagepoint.core.run.logbook import core_log
from vantagepoint.core.store.db import Outage
from vantagepoint.core.store.models import Alarm, Execution
from vantagepoint.core.store.types import utcnow

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(seconds=120)
BATCH = 200


class AlarmDuty:
    """Started and stopped with the app."""

    def __init__(self, sessions: sessionmaker, settings: CoreSettings, policies: list,
                 notifiers: dict[str, Notifier]):
        self.sessions, self.settings, self.policies = sessions, settings, policies
        self.notifiers = notifiers
        self.derived = DerivedWatch()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="notifier")
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarms", daemon=True)
        self._outage = Outage(log, "alarms")

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look for new alarms now (an agent just sent some)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=False)
        for notifier in self.notifiers.values():
            close = getattr(notifier, "close", None)
            if close is not None:
                close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.alarm_poll_seconds)
            self._wake.clear()
            try:
                self.tick()
                self._outage.ok()
            except Exception as exc:  # a bad tick must not end the duty
                if not self._outage.failed(exc):
                    log.exception("the alarm duty failed; continuing")

    def tick(self) -> None:
        """Deliver new alarms first (they wait), then watch derived results (which may
        raise more, delivered at once)."""
        self._deliver_new()
        if self.derived.tick(self.sessions):
            self._deliver_new()

    def _deliver_new(self) -> None:
        while claimed := self._claim():
            for notice, names in claimed:
                self._deliver(notice, names)

    def _claim(self) -> list[tuple[Notice, list[str]]]:
        """Claim undelivered alarms; book their reactions in the same transaction."""
        with self.sessions.begin() as db:
            now = utcnow()
            free = or_(Alarm.claimed_at.is_(None), Alarm.claimed_at < now - CLAIM_TIMEOUT)
            ids = db.scalars(select(Alarm.id).where(Alarm.delivered_at.is_(None), free)
                             .order_by(Alarm.id).limit(BATCH)).all()
            claimed = []
            for alarm_id in ids:
                taken = db.execute(update(Alarm).where(Alarm.id == alarm_id, free)
                                   .values(claimed_at=now)).rowcount
                if taken:
                    claimed.append(self._prepare(db, db.get(Alarm, alarm_id)))
            return claimed

    def _prepare(self, db: Session, alarm: Alarm) -> tuple[Notice, list[str]]:
        ex = db.get(Execution, alarm.execution_id)
        core_log(db, ex.id, f"alarm {alarm.id}: {alarm.condition} (value {alarm.value:g})",
                 "warning", alarm.node_name)
        for reaction in reactions_for(ex, alarm):
            try:
                with db.begin_nested():
                    react(db, alarm, reaction, self.settings, self.policies)
            except Exception:  # noqa: BLE001 - a broken follow-up must not block delivery
                log.exception("alarm %s: reaction %r failed", alarm.id, reaction.scenario)
        names = ex.snapshot.get("notify") or self.settings.default_notifiers
        notice = Notice(alarm_out(alarm).model_dump(mode="json"), ex.scenario_name,
                        ex.owner.name)
        return notice, list(names)

    def _deliver(self, notice: Notice, names: list[str]) -> None:
        pending = _Countdown(len(names), lambda: self._delivered(notice.alarm["id"]))
        for name in names:
            notifier = self.notifiers.get(name)
            if notifier is None:
                self._failed(notice, name, "no such notifier is configured on this core")
                pending.done()
                continue
            future = self._pool.submit(notifier.notify, notice)
            future.add_done_callback(lambda f, n=name: self._finished(f, notice, n, pending))
        if not names:
            self._delivered(notice.alarm["id"])

    def _finished(self, future: Future, notice: Notice, name: str, pending: _Countdown) -> None:
        exc = future.exception()
        if exc is not None:
            self._failed(notice, name, f"{type(exc).__name__}: {exc}")
        pending.done()

    def _failed(self, notice: Notice, name: str, why: str) -> None:
        a = notice.alarm
        log.warning("alarm %s: notifier %r failed: %s", a["id"], name, why)
        try:
            with self.sessions.begin() as db:
                core_log(db, a["execution"], f"alarm {a['id']}: notifier {name!r} failed: {why}",
                         "error", a["node"])
        except Exception:  # noqa: BLE001 - the log line is a courtesy; the warning stands
            log.exception("could not log the notifier failure")

    def _delivered(self, alarm_id: int) -> None:
        with self.sessions.begin() as db:
            db.execute(update(Alarm).where(Alarm.id == alarm_id).values(delivered_at=utcnow()))


class _Countdown:
    """Calls ``then`` once ``done()`` was called ``n`` times (from any thread)."""

    def __init__(self, n: int, then):
        self.n, self.then = n, then
        self._lock = threading.Lock()

    def done(self) -> None:
        with self._lock:
            self.n -= 1
            last = self.n == 0
        if last:
            self.then()
