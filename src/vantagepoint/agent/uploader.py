"""The agent's background threads: the record uploader and the heartbeat.

The uploader drains the spool in ``seq`` order and marks what the core
acknowledged. Network trouble is normal (a node may be offline for hours):
it backs off and tries again, and never drops a record. A batch the core
refuses for good (a 4xx) is retried record by record, and only a record
refused on its own is set aside in the spool, so one bad record cannot block
every later one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vantagepoint.agent.client import FAILURES, CoreClient, describe, is_permanent, wait_asked
from vantagepoint.agent.spool import Record, Spool
from vantagepoint.errors import NotFound
from vantagepoint.wire import RecordBatch

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
KEEP_UPLOADED = 24 * 3600.0  # uploaded rows are kept this long for inspection


class Backoff:
    """Doubling delay after failures, back to ``base`` after a success."""

    def __init__(self, base: float, limit: float = MAX_BACKOFF):
        self.base, self.limit = base, max(limit, base)
        self.delay = base
        self.failing = False

    def failed(self) -> float:
        first = max(self.base, min(1.0, self.limit))
        self.delay = min(self.delay * 2, self.limit) if self.failing else first
        self.failing = True
        return self.delay

    def succeeded(self) -> float:
        self.delay, self.failing = self.base, False
        return self.delay


class _Periodic:
    """A daemon thread calling ``tick`` (which returns the next delay) until stopped."""

    def __init__(self, name: str, first_delay: float):
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._first = first_delay
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """True while the thread runs (the watchdog's check)."""
        return self._thread.is_alive()

    def kick(self) -> None:
        """Run the next tick now."""
        self._wake.set()

    def _loop(self) -> None:
        delay = self._first
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                delay = self.tick()
            except Exception:  # a bug here must not end the thread for good
                log.exception("%s failed", self._thread.name)
                delay = MAX_BACKOFF

    def tick(self) -> float:
        raise NotImplementedError


@dataclass
class UploadStats:
    """What an uploader did, for the metrics; handed on when the watchdog restarts it."""

    attempts: int = 0
    failures: int = 0
    records: int = 0
    last_success: float | None = None  # epoch of the last batch the core accepted


class Uploader(_Periodic):
    """Uploads spooled records every ``period`` seconds (now, when kicked)."""

    def __init__(self, spool: Spool, client: CoreClient, batch: int = 500, period: float = 1.0,
                 stats: UploadStats | None = None):
        super().__init__("uploader", period)
        self.spool, self.client, self.batch = spool, client, max(1, batch)
        self.stats = stats if stats is not None else UploadStats()
        self._backoff = Backoff(period)
        self._lock = threading.Lock()
        self._failing = False  # only the first failure of a streak is worth a warning
        self._purged = 0.0
        self._asked_wait = 0.0  # Retry-After of the last refusal (429): wait at least this

    def tick(self) -> float:
        if self.upload_pending():
            self._purge()
            return self._backoff.succeeded()
        return max(self._backoff.failed(), self._asked_wait)

    def upload_pending(self, deadline: float | None = None, timeout: float | None = None) -> bool:
        """Upload until nothing is pending; False on a failure or past ``deadline`` (monotonic)."""
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._lock.acquire(timeout=wait):
            return False  # the uploader thread is stuck in a call; it will get there
        try:
            while records := self.spool.pending(self.batch):
                if not self._send(records, timeout):
                    return False
                if deadline is not None and time.monotonic() > deadline:
                    return self.spool.pending_count() == 0
            return True
        finally:
            self._lock.release()

    def _send(self, records: list[Record], timeout: float | None) -> bool:
        """Upload one batch and mark it; False when it must be tried again later."""
        self.stats.attempts += 1
        try:
            self._post(records, timeout)
        except FAILURES as exc:
            self.stats.failures += 1
            if is_permanent(exc):
                return self._refused(records, exc, timeout)
            self._asked_wait = wait_asked(exc)
            self._note_failure(exc)
            return False
        self._asked_wait = 0.0
        self.spool.mark_uploaded(r.seq for r in records)
        self.stats.records += len(records)
        self.stats.last_success = time.time()
        if self._failing:
            log.info("uploads work again")
        self._failing = False
        return True

    def _post(self, records: list[Record], timeout: float | None) -> None:
        self.client.upload(RecordBatch(spool_id=self.spool.spool_id, records=records),
                           timeout=timeout)

    def _refused(self, records: list[Record], exc: BaseException, timeout: float | None) -> bool:
        if len(records) > 1:  # find the records at fault; the others go through
            return all(self._send([r], timeout) for r in records)
        log.error("the core refused record %s (execution %s) for good; it stays in the spool, "
                  "set aside: %s", records[0].seq, getattr(records[0], "execution_id", None),
                  describe(exc))
        self.spool.mark_refused([records[0].seq])
        return True

    def _note_failure(self, exc: BaseException) -> None:
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        log.log(level, "upload failed (will retry; %d records wait): %s",
                self.spool.pending_count(), describe(exc))

    def _purge(self) -> None:
        now = time.time()
        if now - self._purged > 3600:
            self._purged = now
            self.spool.purge_uploaded(now - KEEP_UPLOADED)


class Heartbeat(_Periodic):
    """Tells the core every ``period`` seconds that this node is alive."""

    def __init__(self, client: CoreClient, period: float, reregister: Callable[[], None],
                 event: Callable[[str, str], None] | None = None):
        super().__init__("heartbeat", 0.0)
        self.client, self.period, self.reregister = client, period, reregister
        self.event = event  # raises node events (Clock.Skew) on the bus
        self._failing = False
        self._skewed = False  # the clock is off: said once, until it is right again

    def tick(self) -> float:
        sent = time.time()
        try:
            server_time = self.client.heartbeat(sent)
        except FAILURES as exc:
            if isinstance(exc, NotFound):  # the core forgot this node: enrol again
                self.reregister()
            elif not self._failing:
                log.warning("heartbeat failed (will retry): %s", describe(exc))
            self._failing = True
            return max(self.period, wait_asked(exc))
        if self._failing:
            log.info("the core answers heartbeats again")
        self._failing = False
        self._clock(_check_clock(sent, time.time(), server_time))
        return self.period

    def _clock(self, problem: str | None) -> None:
        """A ``Clock.Skew`` node event when the clock goes off, ``Clock.Synced`` when back."""
        if (problem is not None) == self._skewed:
            return
        self._skewed = problem is not None
        if problem is not None:
            log.warning("%s", problem)
        else:
            log.info("this node's clock agrees with the core's again")
        if self.event is not None:
            self.event("Clock.Skew" if problem else "Clock.Synced",
                       problem or "the clock agrees with the core's again")


def _check_clock(sent: float, received: float, server_time: float | None) -> str | None:
    """What is wrong when this node's clock is far from the core's (runs start at set times)."""
    if server_time is None:
        return None
    skew = server_time - (sent + received) / 2
    bound = (received - sent) / 2  # the core read its clock somewhere in the round trip
    if abs(skew) <= max(0.5, bound + 0.2):
        return None
    return (f"this node's clock is {abs(skew):.2f} s (within {bound * 1000:.0f} ms) "
            f"{'behind' if skew > 0 else 'ahead of'} the core's; synchronised starts and "
            f"one-way delays will be off (run NTP)")
