"""Allocation: find the slots a request can take, check every policy, and book them.

The check and the booking happen in one transaction that writers take one at a
time: SQLite's ``BEGIN IMMEDIATE`` holds the database's write lock from the
first statement, and on PostgreSQL a transaction-scoped advisory lock guards
the scheduler, so two core processes racing for one slot cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from vantagepoint.config import CoreSettings
from vantagepoint.core.catalog import StoreCatalog, fleet_memo, node_infos, resolved_scenario
from vantagepoint.core.scheduler import quotas
from vantagepoint.core.scheduler.binding import Binding, Selection, bind_by_order, bound_once
from vantagepoint.core.scheduler.binding import selection as read_selection
from vantagepoint.core.scheduler.calendar_cache import CalendarCache, cache_for, touch
from vantagepoint.core.scheduler.calendar_db import DbCalendar, node_info
from vantagepoint.core.scheduler.candidates import candidates
from vantagepoint.core.scheduler.model import Policy, Proposal, Refusal, Span
from vantagepoint.core.scheduler.proposal import build, cost, node_parts
from vantagepoint.core.scheduler.registry import Memo, check_all
from vantagepoint.core.scheduler.request import check_limits, earliest_start, occurrences
from vantagepoint.core.store.bulk import insert_columns
from vantagepoint.core.store.models import Booking, Node, Schedule, User
from vantagepoint.core.store.prepared import Prepared
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Invalid, NotFound, Problem, Unschedulable
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.spec.validate import check_action, check_periods
from vantagepoint.wire import ScheduleCreate

SCHEDULER_LOCK = 0x76700001  # PostgreSQL advisory lock key of the scheduler
MAX_STEPS = 10_000


@dataclass
class Plan:
    """An accepted request: what it books and what it costs (not yet stored)."""

    spec: ScenarioSpec
    binding: Binding
    spans: list[Span]
    proposal: Proposal
    node_seconds: float = 0.0
    data_bytes: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    cache: CalendarCache | None = None  # the calendar it was checked against


def lock_scheduler(db: Session) -> None:
    """Serialise check-and-book across core processes (SQLite: BEGIN IMMEDIATE does it)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEDULER_LOCK})


def plan(db: Session, user: User, req: ScheduleCreate, settings: CoreSettings,
         policies: list[Policy], now: datetime, system: bool = False) -> Plan:
    """Find where the request fits, or raise Unschedulable naming every refusal."""
    lock_scheduler(db)
    check_limits(req, settings, now)
    spec = scenario_spec(db, user, req.scenario)
    problems = check_periods(spec, req.duration)
    if problems:
        raise Invalid("the scenario does not fit the duration", problems)
    choice = read_selection(spec, req)
    first = earliest_start(req, settings, now)
    horizon = now + timedelta(days=settings.max_ahead_days)
    cache = cache_for(db, timedelta(seconds=settings.max_duration_seconds + 60))
    with cache.lock:
        cache.sync(db)
        calendar = Memo(DbCalendar(db, cache))  # one request sees one calendar
        search = _Search(db, user, spec, choice, req, settings, policies, calendar)
        search.system = system  # system bookings: never shared, user schedules go around them
        found = search.first_fit(first, horizon, exact=req.mode != "earliest")
    found.cache = cache
    found.node_seconds, found.data_bytes = cost(found.spec, found.proposal)
    quotas.check(db, user, settings, found.node_seconds, found.data_bytes)
    return found


def scenario_spec(db: Session, user: User, name: str) -> ScenarioSpec:
    spec = resolved_scenario(db, user.id, name)
    if spec is None:
        raise NotFound(f"no scenario {name!r}")
    return spec


class _Search:
    """First fit over start times, for fixed nodes or nodes chosen by filter."""

    system = False

    def __init__(self, db, user, spec, choice: Selection, req, settings, policies, calendar):
        self.db, self.user, self.spec, self.choice = db, user, spec, choice
        self.req, self.settings, self.policies, self.calendar = req, settings, policies, calendar
        if choice.fixed is not None:
            concrete = bound_once(spec, choice.fixed)
            _check_bound(concrete, db, user)
            self._fixed_nodes = sorted(node_parts(concrete))
            calendar.remember(node_infos(db, self._fixed_nodes))
            self._pool = []
        else:
            self._pool = candidates(db, spec, req)
            calendar.remember(self._pool)

    def first_fit(self, start: datetime, horizon: datetime, exact: bool) -> Plan:
        t = start
        for _ in range(MAX_STEPS):
            spans = occurrences(self.req, t)
            if not spans:
                raise Invalid("no occurrence fits before until", [Problem("/until", "too early")])
            later = None if exact or self.choice.fixed is None else self._clash(spans)
            if later is not None and later <= horizon:
                t = later  # a cheap jump past a booked slot; policies judge the final fit
                continue
            outcome = self._try(spans)
            if isinstance(outcome, Plan):
                return outcome
            message, refusals, later = outcome
            if exact or later is None or later > horizon:
                raise Unschedulable(message, [_problem(r) for r in refusals])
            t = later
        raise Unschedulable("no fit found within the search limit", [])

    def _clash(self, spans: list[Span]) -> datetime | None:
        """A start past the first exclusive clash found, or None if there is none.

        Stops at the first clash: a periodic request on many nodes usually clashes in
        its first occurrence, and the policies judge the final fit in full anyway.
        """
        pad = timedelta(seconds=self.settings.padding_seconds)
        shared = self.spec.shared and not self.system  # system bookings are never shared
        bookings = self.calendar.bookings
        for span in spans:
            for node in self._fixed_nodes:
                near = bookings(node, span, pad)
                if not near:
                    continue
                ends = [o.span.end for o in near if not (shared and o.shared and not o.system)]
                if ends:
                    return spans[0].start + (max(ends) + pad - span.start)
        return None

    def _try(self, spans: list[Span]):
        if self.choice.fixed is not None:
            return self._try_binding(self.choice.fixed, spans)
        return self._try_filtered(spans)

    def _try_binding(self, binding: Binding, spans: list[Span]):
        proposal = build(self.user.name, bound_once(self.spec, binding), spans, self.system)
        refusals = check_all(self.policies, proposal, self.calendar)
        if not refusals:
            return Plan(self.spec, binding, spans, proposal)
        return (f"refused by {', '.join(sorted({r.policy for r in refusals}))}", refusals,
                _next_start(refusals, spans, fixed=True))

    def _try_filtered(self, spans: list[Span]):
        free, refusals = [], []
        per_occurrence = [0] * len(spans)
        for node in self._pool:
            alone = {role: [node.name] for role in self.choice.roles}  # this node in every role
            found = self._try_binding(alone, spans)
            if isinstance(found, Plan):
                free.append(node.name)
                per_occurrence = [n + 1 for n in per_occurrence]
                if len(free) == self.choice.count:
                    break
            else:
                refusals += found[1]
                busy = {r.occurrence for r in found[1]}
                per_occurrence = [n + (i not in busy) for i, n in enumerate(per_occurrence)]
        if len(free) >= self.choice.count:
            return self._try_binding(bind_by_order(self.choice.roles, free), spans)
        return (_shortage(per_occurrence, spans, self.choice.count, len(self._pool)), refusals,
                _next_start(refusals, spans, fixed=False))


def _check_bound(spec: ScenarioSpec, db: Session, user: User) -> None:
    """Bound nodes must exist and offer the tools and interfaces their actions use.

    A pass is remembered while the fleet's registrations stay the same (what it checks).
    """
    passed = fleet_memo(db, "bound-checks")
    key = (user.id, id(spec))
    if passed.get(key) is spec:
        return
    catalog = StoreCatalog(db, user.id)
    problems = [p for i, a in enumerate(spec.actions())
                for p in check_action(a, catalog, f"/actions/{i}")]
    if problems:
        raise Invalid("the chosen nodes cannot run this scenario", problems)
    if len(passed) >= MAX_STEPS:
        passed.clear()
    passed[key] = spec


def _shortage(per_occurrence: list[int], spans: list[Span], count: int, pool: int) -> str:
    if pool < count:
        return f"only {pool} node(s) match the filter, {count} needed"
    i = next(i for i, n in enumerate(per_occurrence) if n < count)
    return (f"only {per_occurrence[i]}/{count} nodes free in occurrence {i} at "
            f"{spans[i].start.isoformat()}")


def _next_start(refusals: list[Refusal], spans: list[Span], fixed: bool) -> datetime | None:
    """The next first-start worth trying; None if some refusal can never clear."""
    offsets = {i: s.start - spans[0].start for i, s in enumerate(spans)}
    starts = []
    for r in refusals:
        if r.retry_after is None:
            if fixed:
                return None
            continue
        starts.append(r.retry_after - offsets.get(r.occurrence or 0, timedelta(0)))
    later = [s for s in starts if s > spans[0].start]
    if not later:
        return None
    return max(later) if fixed else min(later)


def _problem(r: Refusal) -> Problem:
    where = "" if r.occurrence is None else f"/occurrences/{r.occurrence}"
    if r.node:
        where += f"/nodes/{r.node}"
    return Problem(where, str(r))


def book(db: Session, user: User, req: ScheduleCreate, found: Plan,
         schedule: Schedule | None = None) -> Schedule:
    """Store an accepted plan: the schedule (new, or a waiting one), bookings, quota debits."""
    if schedule is None:
        schedule = _new_schedule(db, user, req, found)
    else:
        schedule.binding, schedule.shared, schedule.state = (found.binding, found.spec.shared,
                                                             "active")
        schedule.node_seconds, schedule.data_bytes = found.node_seconds, found.data_bytes
        db.flush()
    schedule_id = schedule.id  # an ORM attribute: read once, not once per booking
    stored = [b.stored_as(schedule_id) for b in found.proposal.bookings]
    _insert_bookings(db, stored)
    if found.cache is None:
        touch(db)
    else:
        with found.cache.lock:
            found.cache.booked(db, stored)
    quotas.record(db, user.id, schedule.id, "booked", time=found.node_seconds,
                  data=found.data_bytes)
    return schedule


def _new_schedule(db: Session, user: User, req: ScheduleCreate, found: Plan) -> Schedule:
    """Insert the schedule row directly and hand the session the object, loaded as stored.

    The unit of work's flush of one new object cost more than the rest of a one-node booking.
    """
    values = dict(owner_id=user.id, scenario_name=req.scenario, mode=req.mode,
                  request=req.model_dump(mode="json"), binding=found.binding,
                  shared=found.spec.shared, system=False, state="active",
                  duration=req.duration, every=req.every, node_seconds=found.node_seconds,
                  data_bytes=found.data_bytes, created_at=utcnow())
    row = _INSERT_SCHEDULE.first(db, values)
    # Filled as a query's loader fills an object (no attribute events), then marked loaded:
    # nothing for the unit of work to do.
    schedule = Schedule.__mapper__.class_manager.new_instance()
    schedule.__dict__.update(values, id=row[0], owner=user)
    make_transient_to_detached(schedule)
    db.add(schedule)
    return schedule


_INSERT_SCHEDULE = Prepared(insert(Schedule.__table__).values(
    {c: bindparam(c) for c in ("owner_id", "scenario_name", "mode", "request", "binding",
                               "shared", "system", "state", "duration", "every", "node_seconds",
                               "data_bytes", "created_at")}).returning(Schedule.__table__.c.id))


def _insert_bookings(db: Session, stored: list) -> None:
    """The bookings as rows: a periodic schedule on many nodes books thousands (store.bulk)."""
    n = len(stored)
    insert_columns(db, Booking.__table__, {
        "schedule_id": [stored[0].schedule_id] * n if n else [], "state": ["reserved"] * n,
        "occurrence": [b.occurrence for b in stored], "node_name": [b.node for b in stored],
        "start": [b.span.start for b in stored], "end": [b.span.end for b in stored],
        "shared": [b.shared for b in stored], "system": [b.system for b in stored],
        "interfaces": [list(b.interfaces) for b in stored],
        "tools": [list(b.tools) for b in stored]})


def fleet(db: Session) -> list:
    """Every node as the scheduler sees it."""
    return [node_info(n) for n in db.scalars(select(Node).order_by(Node.name))]
