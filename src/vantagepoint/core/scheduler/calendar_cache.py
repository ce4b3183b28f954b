"""Bookings read from the store, kept in memory between scheduling requests of a process.

Reading a node's bookings (rows, dates, JSON) costs far more than searching them, and
successive requests look at the same stretches of the calendar. A cache is valid while
the store's calendar stamp is the one it last saw: every change to the bookings writes
a fresh random stamp (``touch``), so a change made by any process, or a booking of this
process whose transaction rolled back, makes the next request start from an empty cache.
Callers hold the scheduler lock (see allocate.lock_scheduler) and the cache's own lock.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import Text, bindparam, cast, select, update
from sqlalchemy.orm import Session

from vantagepoint.core.scheduler import model
from vantagepoint.core.scheduler.memory import MemoryCalendar
from vantagepoint.core.scheduler.model import Span
from vantagepoint.core.store.db import database_key
from vantagepoint.core.store.models import Booking, CalendarStamp
from vantagepoint.core.store.prepared import Prepared

ACTIVE = "reserved"
CHUNK = timedelta(days=1)  # read ahead this much: searches move forward in time
MAX_BOOKINGS = 1_000_000  # past this, start over rather than grow without bound
# The JSON lists read as their text: a few distinct texts recur in every row, and each is
# decoded once (``_lists``) rather than once per row, which was most of a read's cost.
COLUMNS = (Booking.node_name, Booking.start, Booking.end, Booking.schedule_id,
           Booking.occurrence, Booking.shared, cast(Booking.interfaces, Text),
           cast(Booking.tools, Text), Booking.system)
MAX_TEXTS = 10_000  # distinct list texts remembered


# Built once: constructing a statement costs more than running it on a hot path.
# The stamp is written through the table, not the mapped class: nothing to synchronise.
_STAMP = CalendarStamp.__table__
_READ_STAMP = Prepared(select(_STAMP.c.stamp).where(_STAMP.c.id == 1))
_WRITE_STAMP = Prepared(update(_STAMP).where(_STAMP.c.id == 1).values(stamp=bindparam("new")))
_READ_NODE = Prepared(select(*COLUMNS).where(
    Booking.node_name == bindparam("node"), Booking.state == ACTIVE,
    Booking.start >= bindparam("low"), Booking.start < bindparam("high")))


def touch(db: Session) -> str:
    """Record that the calendar changed (in the caller's transaction); the new stamp."""
    stamp = uuid.uuid4().hex
    _WRITE_STAMP.run(db, {"new": stamp})
    return stamp


class CalendarCache:
    """Each node's bookings over the stretches read so far, and the stamp they belong to."""

    def __init__(self, max_length: timedelta):
        self.max_length = max_length
        self.lock = threading.RLock()
        self.stamp: str | None = None
        self._forget()

    def sync(self, db: Session) -> None:
        """Forget everything if the calendar changed since this cache last saw it."""
        row = _READ_STAMP.first(db)
        stamp = row[0] if row is not None else None
        if stamp != self.stamp or self._held > MAX_BOOKINGS:
            self._forget()
            self.stamp = stamp

    def bookings(self, db: Session, node: str, span: Span,
                 padding: timedelta) -> list[model.Booking]:
        """Bookings on ``node`` overlapping ``span`` widened by ``padding`` each side."""
        low, high = span.start - padding - self.max_length, span.end + padding
        have = self._loaded.get(node)
        if have is None or low < have[0] or high > have[1]:  # else: held already
            self._cover(db, node, low, high)
        return self.memory.bookings(node, span, padding)

    def booked(self, db: Session, bookings: Iterable[model.Booking]) -> None:
        """This process just stored ``bookings``: stamp the change and keep them."""
        self.stamp = touch(db)
        bookings = list(bookings)
        self._own.update(b.schedule_id for b in bookings)
        self._add(bookings)

    def _forget(self) -> None:
        self.memory = MemoryCalendar(self.max_length)
        self._loaded: dict[str, tuple] = {}  # node -> (low, high) of the starts read
        # Schedules this process booked since the stamp: held already when read back.
        # (Reads of a node never overlap each other, so nothing else can come twice.)
        self._own: set[int] = set()
        self._held = 0
        self._lists: dict[str, tuple] = {}  # JSON text of a list -> its items

    def _cover(self, db: Session, node: str, low, high) -> None:
        """Make sure the node's bookings starting in ``[low, high)`` are held."""
        have = self._loaded.get(node)
        if have is None:
            self._read(db, node, low, high + CHUNK)
            self._loaded[node] = (low, high + CHUNK)
            return
        lo, hi = have
        if low < lo:
            self._read(db, node, low, lo)
            lo = low
        if high > hi:
            self._read(db, node, hi, high + CHUNK)
            hi = high + CHUNK
        self._loaded[node] = (lo, hi)

    def _read(self, db: Session, node: str, low, high) -> None:
        rows = _READ_NODE.converted_rows(db, {"node": node, "low": low, "high": high})
        own, lists = self._own, self._lists
        if len(lists) > MAX_TEXTS:
            lists.clear()
        self._add(model.Booking.of(node=name, span=Span(start, end), schedule_id=schedule,
                                   occurrence=occurrence, shared=bool(shared),
                                   interfaces=lists[interfaces] if interfaces in lists
                                   else _decoded(lists, interfaces),
                                   tools=lists[tools] if tools in lists else _decoded(lists, tools),
                                   system=bool(system))
                  for name, start, end, schedule, occurrence, shared, interfaces, tools, system
                  in rows if schedule not in own)

    def _add(self, bookings: Iterable[model.Booking]) -> None:
        bookings = list(bookings)
        self._held += len(bookings)
        self.memory.add_all(bookings)


def _decoded(lists: dict[str, tuple], text: str) -> tuple:
    """The items of a JSON list given as text, remembered for the next row."""
    lists[text] = items = tuple(json.loads(text))
    return items


_CACHES: dict[tuple[str, timedelta], CalendarCache] = {}
_CACHES_LOCK = threading.Lock()


def cache_for(db: Session, max_length: timedelta) -> CalendarCache:
    """This process's cache of the calendar in ``db``'s database."""
    url = database_key(db.get_bind().engine)
    with _CACHES_LOCK:
        return _CACHES.setdefault((url, max_length), CalendarCache(max_length))
