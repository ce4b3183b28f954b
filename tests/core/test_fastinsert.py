"""The ingest fast path (COPY + INSERT ... SELECT on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from vantagepoint.core.store import fastinsert
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Result

VALUES = [12.5, "10.0.0.1", {"hops": [1, 2], "ok": True}, None, 'a "quoted"\ttab\\n', 7]


def _rows(spool: str, seqs) -> list[tuple]:
    return [(None, "n1", "a", "v", 1.7e9 + seq, fastinsert.encode(VALUES[seq % len(VALUES)]),
             None, spool, seq) for seq in seqs]


def test_new_rows_counted_and_stored_once_with_their_values(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as db:
        assert fastinsert.insert_results(db, _rows("spool-0001", range(1, 7))) == 6
        # the same origins again, in the same transaction and in a later one: nothing new
        assert fastinsert.insert_results(db, _rows("spool-0001", range(4, 9))) == 2
    with sessions.begin() as db:
        assert fastinsert.insert_results(db, _rows("spool-0001", range(1, 9))) == 0
        # a batch repeating a seq inside itself stores it once
        assert fastinsert.insert_results(db, _rows("spool-0002", [1, 2, 2, 3])) == 3
    with sessions() as db:
        stored = db.execute(select(Result.spool_id, Result.seq, Result.value, Result.ts,
                                   Result.background).order_by(Result.spool_id, Result.seq)).all()
    assert [(s, q) for s, q, *_ in stored] == (
        [("spool-0001", q) for q in range(1, 9)] + [("spool-0002", q) for q in (1, 2, 3)])
    assert [v for _, _, v, _, _ in stored[:8]] == [VALUES[q % len(VALUES)] for q in range(1, 9)]
    assert all(ts == 1.7e9 + q and bg is False for _, q, _, ts, bg in stored)
    engine.dispose()


def test_a_rolled_back_batch_leaves_nothing_and_the_next_one_goes_in(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with pytest.raises(RuntimeError), sessions.begin() as db:
        assert fastinsert.insert_results(db, _rows("spool-0003", [1, 2])) == 2
        raise RuntimeError("the request failed after the insert")
    with sessions.begin() as db:  # the staging table (PostgreSQL) is empty and usable again
        assert fastinsert.insert_results(db, _rows("spool-0003", [2, 3])) == 2
    with sessions() as db:
        assert sorted(db.scalars(select(Result.seq))) == [2, 3]
    engine.dispose()


@pytest.mark.parametrize("value", [0.066434, 1e16, -0.0, 1.7e9 + 0.123456, 5, -3, 2**70, True,
                                   False, None, "x", 'é\n"\\', float("nan"), float("inf"),
                                   {"a": [1, 2.5]}, [True, None]])
def test_encode_writes_what_json_dumps_writes(value):
    assert fastinsert.encode(value) == json.dumps(value)


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_twin_upload_in_flight_is_stored_once(database_url, first_commits):
    """The second of two uploads of one batch waits for the first, then stores only what
    the first did not (on PostgreSQL: its COPY fails on the key, the staging way runs)."""
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    rows = _rows("spool-0004", range(1, 6))
    first = sessions()
    first.begin()
    assert fastinsert.insert_results(first, rows) == 5
    twin: dict[str, int] = {}

    def upload_twin():
        with sessions.begin() as db:
            twin["stored"] = fastinsert.insert_results(db, rows + _rows("spool-0004", [6]))

    thread = threading.Thread(target=upload_twin)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting on the first upload's uncommitted keys or lock
    first.commit() if first_commits else first.rollback()
    first.close()
    thread.join(10)
    assert twin["stored"] == (1 if first_commits else 6)
    with sessions() as db:
        assert sorted(db.scalars(select(Result.seq))) == [1, 2, 3, 4, 5, 6]
    engine.dispose()
