"""The local spool: durable, ordered, shared by processes, never reusing a seq."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import sys

from vantagepoint.agent.spool import Spool
from vantagepoint.wire import LogRecord, ResultRecord


def test_the_spool_id_is_made_once_and_kept(tmp_path):
    first = Spool(tmp_path / "spool.db")
    again = Spool(tmp_path / "spool.db")
    assert first.spool_id == again.spool_id and len(first.spool_id) == 36
    first.close()
    again.close()
    assert Spool(tmp_path / "spool.db").spool_id == first.spool_id
    assert Spool(tmp_path / "other.db").spool_id != first.spool_id


def test_the_file_is_in_wal_mode(spool):
    with sqlite3.connect(spool.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_pending_records_come_as_wire_records_in_order(spool):
    spool.add_result(3, "ping_a", "rtt_ms", 1.5, ts=100.0)
    spool.add_log(3, None, "info", "deploying 1 actions", ts=101.0)
    spool.add_result(4, "ping_b", "path", {"hops": ["a", "b"]}, ts=102.0)
    got = spool.pending(10)
    assert [r.seq for r in got] == sorted(r.seq for r in got)
    assert got[0] == ResultRecord(seq=got[0].seq, execution_id=3, action="ping_a",
                                  name="rtt_ms", ts=100.0, value=1.5)
    assert got[1] == LogRecord(seq=got[1].seq, execution_id=3, action=None, ts=101.0,
                               level="info", message="deploying 1 actions")
    assert got[2].value == {"hops": ["a", "b"]}
    assert [r.seq for r in spool.pending(2)] == [got[0].seq, got[1].seq]


def test_marked_records_are_no_longer_pending(spool):
    seqs = [spool.add_result(1, "a", "n", i) for i in range(5)]
    spool.add_result(2, "a", "n", 0)
    assert spool.pending_count() == 6 and spool.pending_count(1) == 5
    spool.mark_uploaded(seqs[:2])
    assert [r.value for r in spool.pending(10) if r.execution_id == 1] == [2, 3, 4]
    spool.mark_uploaded(upto=seqs[-1])
    assert spool.pending_count(1) == 0 and spool.pending_count() == 1
    spool.mark_refused([spool.pending(1)[0].seq])
    assert spool.pending_count() == 0
    assert len(spool.records()) == 6  # refused records are set aside, not deleted


def test_a_seq_is_never_handed_out_twice(spool):
    last = max(spool.add_result(1, "a", "n", i, ts=1.0) for i in range(3))
    spool.mark_uploaded(upto=last)
    assert spool.purge_uploaded(older_than=2.0) == 3
    assert spool.add_result(1, "a", "n", 9) == last + 1


def test_values_that_are_not_json_become_warnings(spool):
    assert spool.add_result(1, "a", "x", float("nan")) is None
    assert spool.add_result(1, "a", "x", math.inf) is None
    assert spool.add_result(1, "a", "x", {1, 2}) is None
    assert spool.add_result(1, "a", "bad name!", 1) is None
    assert spool.add_result(1, "a", "x", [1.5, None, "s", True]) is not None
    got = spool.pending(10)
    assert [type(r) for r in got] == [LogRecord] * 4 + [ResultRecord]
    assert all(r.level == "warning" and r.message.startswith("result refused: 'x'")
               for r in got[:3])
    assert got[4].value == [1.5, None, "s", True]


def test_log_lines_are_made_acceptable(spool):
    spool.add_log(1, "a", "shout", "x" * 20000, ts=float("nan"))
    (line,) = spool.pending(1)
    assert line.level == "info" and len(line.message) <= 16000 and math.isfinite(line.ts)


WRITER = """
import sys
from vantagepoint.agent.spool import Spool
spool = Spool(sys.argv[1])
count, tag = int(sys.argv[2]), sys.argv[3]
i = 0
while count == 0 or i < count:
    i += 1
    spool.add_result(1, tag, "n", i)
    if count == 0:
        print(i, flush=True)  # i rows are committed now
"""


def _writer(path, count: int, tag: str = "a") -> subprocess.Popen:
    """A separate process adding ``count`` results (0: for ever, telling each commit)."""
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(count), tag],
                            stdout=subprocess.PIPE, text=True)


def test_several_processes_write_at_once(tmp_path):
    path = tmp_path / "spool.db"
    Spool(path).close()
    writers = [_writer(path, 200, f"w{i}") for i in range(4)]
    assert [w.wait(60) for w in writers] == [0] * 4
    records = Spool(path).pending(10000)
    assert len(records) == 800 == len({r.seq for r in records})
    for i in range(4):
        assert [r.value for r in records if r.action == f"w{i}"] == list(range(1, 201))


def test_committed_records_survive_a_sigkill(tmp_path):
    path = tmp_path / "spool.db"
    writer = _writer(path, 0)
    acknowledged = 0
    while acknowledged < 200:
        acknowledged = int(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    for line in writer.stdout:
        acknowledged = int(line) if line.strip() else acknowledged
    values = [r.value for r in Spool(path).pending(100000)]
    assert len(values) >= acknowledged
    assert values == list(range(1, len(values) + 1))
