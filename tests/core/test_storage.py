"""Results storage: weekly partitions on PostgreSQL, idempotent ingest into them, retention."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from vantagepoint.config import CoreSettings
from vantagepoint.core import retention
from vantagepoint.core.ingest import ingest
from vantagepoint.core.storage import StorageDuty
from vantagepoint.core.store import partitions
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Execution, ExecutionNode, Result, User
from vantagepoint.wire import RecordBatch, ResultRecord

DAY = 86400.0
NOW = time.time()


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def execution(sessions) -> int:
    with sessions.begin() as db:
        user = User(name="ann")
        db.add(user)
        db.flush()
        ex = Execution(owner_id=user.id, scenario_name="s", scenario_version=1, snapshot={},
                       state="running", duration=60.0, start_at=datetime.now(UTC))
        db.add(ex)
        db.flush()
        db.add(ExecutionNode(execution_id=ex.id, node_name="n1", state="running"))
        return ex.id


def pg_only(sessions) -> None:
    with sessions() as db:
        if db.get_bind().dialect.name != "postgresql":
            pytest.skip("partitions exist on PostgreSQL only")


def batch(execution: int, seqs, ts_of=lambda s: NOW + s, name="rtt_ms", spool="spool-0001"):
    return RecordBatch(spool_id=spool, records=[
        ResultRecord(seq=s, execution_id=execution, action="ping", name=name, ts=ts_of(s),
                     value=float(s)) for s in seqs])


def count(sessions, *where) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(Result).where(*where))


def add_rows(sessions, execution: int | None, name: str, stamps, background=False,
             spool="spool-x") -> None:
    with sessions.begin() as db:
        db.add_all(Result(execution_id=execution, node_name="n1", action="ping", name=name,
                          ts=ts, value=1.0, value_num=1.0, spool_id=spool, seq=i,
                          background=background) for i, ts in enumerate(stamps, start=1))


def where_rows_are(sessions) -> dict[str, int]:
    with sessions() as db:
        return dict(db.execute(text(
            "SELECT tableoid::regclass::text, count(*) FROM results GROUP BY 1")).all())


# --- partitions -------------------------------------------------------------------------

def test_partitions_exist_ahead_and_the_default_takes_any_ts(sessions, execution):
    pg_only(sessions)
    with sessions() as db:
        weeks = partitions.partitions(db.connection())
    starts = [p.start for p in weeks]
    this_week = partitions.week_start(NOW)
    assert all(this_week + k * partitions.WEEK in starts
               for k in range(partitions.AHEAD_WEEKS + 1))
    assert all(p.end - p.start == partitions.WEEK for p in weeks)
    wrong_clocks = [0.0, 86400.0 * 365 * 200, NOW]  # 1970, 2170 and now
    with sessions.begin() as db:
        ack = ingest(db, "n1", batch(execution, [1, 2, 3], lambda s: wrong_clocks[s - 1]))
    assert ack.stored == 3
    found = where_rows_are(sessions)
    assert found[partitions.DEFAULT] == 2
    assert found[partitions.partition_name(this_week)] == 1


def test_duty_creates_weeks_ahead_and_moves_rows_out_of_the_default(sessions, execution):
    pg_only(sessions)
    later = NOW + 10 * partitions.WEEK  # beyond what the migration made
    add_rows(sessions, execution, "rtt_ms", [later, later + 1])
    assert where_rows_are(sessions) == {partitions.DEFAULT: 2}
    duty = StorageDuty(sessions, CoreSettings(database_url="sqlite://"))
    made = duty.keep_partitions(later)
    assert partitions.partition_name(partitions.week_start(later)) in made
    assert where_rows_are(sessions) == {
        partitions.partition_name(partitions.week_start(later)): 2}
    assert duty.keep_partitions(later) == []


# --- ingest -----------------------------------------------------------------------------

def test_same_batch_twice_is_stored_once(sessions, execution):
    with sessions.begin() as db:
        first = ingest(db, "n1", batch(execution, range(1, 51)))
    with sessions.begin() as db:
        again = ingest(db, "n1", batch(execution, range(1, 51)))
    assert (first.stored, again.stored) == (50, 0)
    assert count(sessions) == 50


def test_row_resent_after_a_crash_with_new_rows_is_stored_once(sessions, execution):
    # The agent spooled seq 1..10 (same ts each time it reads its spool); the core stored
    # 1..6 and died before answering; the agent sends 1..10 again, then 11..12.
    with sessions.begin() as db:
        ingest(db, "n1", batch(execution, range(1, 7)))
    with sessions.begin() as db:
        again = ingest(db, "n1", batch(execution, range(1, 11)))
    with sessions.begin() as db:
        ingest(db, "n1", batch(execution, [11, 12]))
    assert again.stored == 4
    assert count(sessions) == 12
    with sessions() as db:
        seqs = db.scalars(select(Result.seq).order_by(Result.seq)).all()
    assert seqs == list(range(1, 13))


def test_retried_rows_spanning_weeks_and_the_default_are_stored_once(sessions, execution):
    stamps = {1: 5.0, 2: NOW, 3: NOW + partitions.WEEK, 4: NOW + 2 * partitions.WEEK}
    for _ in range(2):
        with sessions.begin() as db:
            ingest(db, "n1", batch(execution, stamps, stamps.get))
    assert count(sessions) == 4


# --- retention --------------------------------------------------------------------------

def test_policy_picks_exact_then_longest_glob_and_background_apart():
    policy = retention.Policy({"rtt_ms": 1, "rtt*": 2, "r*": 3, "@background": 4})
    assert policy.days("rtt_ms") == 1
    assert policy.days("rtt_var") == 2
    assert policy.days("rx") == 3
    assert policy.days("loss") is None
    assert policy.days("rtt_ms", background=True) == 4
    assert retention.Policy({"rtt_ms": 1}).days("rtt_ms", background=True) is None


def test_settings_refuse_a_bad_rule():
    with pytest.raises(ValueError, match="days must be > 0"):
        CoreSettings(retention_days={"rtt_ms": 0})


def test_retention_removes_only_expired_rows_of_the_named_type(sessions, execution):
    old, young = NOW - 40 * DAY, NOW - 5 * DAY
    add_rows(sessions, execution, "rtt_ms", [old, old + 1, young], spool="a")
    add_rows(sessions, execution, "loss", [old, young], spool="b")
    add_rows(sessions, None, "rtt_ms", [old, young], background=True, spool="c")
    removed = retention.apply(sessions, retention.Policy({"rtt_ms": 30}), NOW, batch=1000)
    assert removed.rows == 2
    assert count(sessions, Result.name == "rtt_ms", Result.background.is_(False)) == 1
    assert count(sessions, Result.name == "loss") == 2
    assert count(sessions, Result.background.is_(True)) == 2
    removed = retention.apply(sessions, retention.Policy({"@background": 10}), NOW, batch=1000)
    assert removed.rows == 1
    assert count(sessions, Result.background.is_(True)) == 1
    assert count(sessions) == 4


def test_retention_deletes_in_bounded_batches(sessions, execution):
    add_rows(sessions, execution, "rtt_ms", [NOW - 40 * DAY + i for i in range(25)])
    batches = []

    def keep_going() -> bool:
        batches.append(count(sessions))
        return True

    removed = retention.apply(sessions, retention.Policy({"rtt_*": 30}), NOW, batch=10,
                              keep_going=keep_going)
    assert removed.deleted_rows == 25 and count(sessions) == 0
    assert batches[:3] == [25, 15, 5], "10 rows a batch, each batch committed"


def test_retention_stops_when_told(sessions, execution):
    add_rows(sessions, execution, "rtt_ms", [NOW - 40 * DAY + i for i in range(25)])
    calls = iter([True, False])
    retention.apply(sessions, retention.Policy({"rtt_ms": 30}), NOW, batch=10,
                    keep_going=lambda: next(calls, False))
    assert count(sessions) == 15


def test_expired_weeks_are_dropped_whole_and_mixed_weeks_trimmed(sessions, execution):
    pg_only(sessions)
    old_week = partitions.week_start(NOW - 60 * DAY)
    mixed_week = partitions.week_start(NOW - 45 * DAY)
    with sessions.begin() as db:
        partitions.ensure(db.connection(), old_week, mixed_week)
    add_rows(sessions, execution, "rtt_ms", [old_week + 10, old_week + 20], spool="a")
    add_rows(sessions, None, "rtt_ms", [old_week + 30], background=True, spool="b")
    add_rows(sessions, execution, "rtt_ms", [mixed_week + 10], spool="c")
    add_rows(sessions, execution, "trace", [mixed_week + 10], spool="d")  # kept forever
    policy = retention.Policy({"rtt_ms": 30, "@background": 30})
    removed = retention.apply(sessions, policy, NOW, batch=100)
    assert partitions.partition_name(old_week) in removed.dropped
    assert partitions.partition_name(mixed_week) not in removed.dropped
    assert removed.dropped_rows == 3 and removed.deleted_rows == 1
    assert where_rows_are(sessions) == {partitions.partition_name(mixed_week): 1}
    with sessions() as db:
        assert db.scalar(select(Result.name)) == "trace"
        names = {p.name for p in partitions.partitions(db.connection())}
    assert partitions.partition_name(old_week) not in names
    assert partitions.partition_name(mixed_week) in names


def test_a_week_holding_a_kept_type_is_not_dropped(sessions, execution):
    pg_only(sessions)
    old_week = partitions.week_start(NOW - 60 * DAY)
    with sessions.begin() as db:
        partitions.ensure(db.connection(), old_week, old_week)
    add_rows(sessions, execution, "rtt_ms", [old_week + 10], spool="a")
    add_rows(sessions, None, "rtt_ms", [old_week + 10], background=True, spool="b")
    removed = retention.apply(sessions, retention.Policy({"rtt_ms": 30}), NOW, batch=100)
    assert removed.dropped == [] and removed.deleted_rows == 1
    assert count(sessions, Result.background.is_(True)) == 1


def test_duty_counts_and_logs_what_it_removed(sessions, execution, caplog):
    add_rows(sessions, execution, "rtt_ms", [NOW - 40 * DAY, NOW])
    counted = []
    duty = StorageDuty(sessions, CoreSettings(database_url="sqlite://",
                                              retention_days={"rtt_ms": 30}),
                       count=lambda how, rows: counted.append((how, rows)))
    with caplog.at_level("INFO", logger="vantagepoint.core.storage"):
        duty(NOW)
    assert ("deleted", 1) in counted
    assert "retention removed 1 results" in caplog.text
    assert count(sessions) == 1
