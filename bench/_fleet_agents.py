"""Simulated agents for bench/fleet.py: real nodes over real HTTP, in one asyncio loop.

Each agent has its own node token and spool id, and speaks the agent's wire format
(RecordBatch of ResultRecord, idempotent by node, spool_id and seq). A batch the core
did not acknowledge stays pending and goes again with the next upload, as in
agent/uploader.py, so a lost answer turns into a retry, never into a gap.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from _http11 import Http11Pool

from vantagepoint.wire import RecordBatch, ResultRecord

AGENT_BATCH = 500  # the agent's default upload batch (agent/uploader.py)
JSON = {"Content-Type": "application/json"}


@dataclass
class Agent:
    """One node: its token, spool and what it sent (for the lost/duplicated check)."""

    name: str
    token: str
    execution: int
    action: str
    client: Http11Pool  # shared by the agents of one core process
    spool_id: str = ""
    seq: int = 0
    pending: list[ResultRecord] = field(default_factory=list)
    sent: dict[int, tuple[float, float]] = field(default_factory=dict)  # seq -> (ts, value)

    def __post_init__(self):
        self.spool_id = f"fleet-{self.name}-{random.getrandbits(32):08x}"
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def measure(self, ts: float) -> None:
        """One result, as a tool would report it: 1 per second per agent."""
        self.seq += 1
        value = round(random.uniform(1.0, 80.0), 3)
        self.pending.append(ResultRecord(seq=self.seq, execution_id=self.execution,
                                         action=self.action, name="rtt", ts=ts, value=value))
        self.sent[self.seq] = (ts, value)

    def body(self, records: list[ResultRecord]) -> bytes:
        """The upload body exactly as CoreClient.upload sends it."""
        batch = RecordBatch(spool_id=self.spool_id, records=records)
        return json.dumps(batch.model_dump(mode="json", exclude_none=False),
                          separators=(",", ":")).encode()


@dataclass
class Latencies:
    """Wall-clock time of every API call, and the calls that failed."""

    ms: list[float] = field(default_factory=list)
    errors: int = 0

    def p99(self) -> float:
        if not self.ms:
            return float("nan")
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def timed_post(agent: Agent, path: str, content: bytes, lat: Latencies | None) -> bool:
    """POST and note the latency; False on any failure (the caller retries later)."""
    start = time.perf_counter()
    try:
        response = await agent.client.post(path, content, {**agent.auth, **JSON})
        ok = response.status_code == 200
    except (OSError, EOFError, ValueError, TimeoutError):
        ok = False
    if lat is not None:
        lat.ms.append((time.perf_counter() - start) * 1000)
        lat.errors += not ok
    return ok


async def upload_pending(agent: Agent, lat: Latencies | None) -> bool:
    """Send what is pending, oldest first, in agent-sized batches; stop at a failure."""
    while agent.pending:
        records = agent.pending[:AGENT_BATCH]
        if not await timed_post(agent, "/api/v1/agent/records", agent.body(records), lat):
            return False
        del agent.pending[:len(records)]
    return True


async def steady(agent: Agent, until: float, lat: Latencies, stop: asyncio.Event) -> None:
    """Heartbeat every 10 s and upload every 5 s (1 result/s) until ``until``."""
    loop = asyncio.get_running_loop()
    next_upload = loop.time() + random.uniform(0, 5)
    next_beat = loop.time() + random.uniform(0, 10)
    last = time.time()
    while not stop.is_set():
        now = loop.time()
        if now >= until:
            break
        wake = min(next_upload, next_beat, until)
        if wake > now:
            await asyncio.sleep(wake - now)
            continue
        if now >= next_beat:
            next_beat += 10
            body = json.dumps({"ts": time.time()}).encode()
            await timed_post(agent, "/api/v1/agent/heartbeat", body, lat)
        if now >= next_upload:
            next_upload += 5
            wall = time.time()
            while last + 1 <= wall:  # the results measured since the last upload
                last += 1
                agent.measure(last)
            await upload_pending(agent, lat)


async def drain(agents: list[Agent], lat: Latencies | None, tries: int = 20) -> int:
    """Upload everything still pending (retrying); the records left behind."""
    for _ in range(tries):
        await asyncio.gather(*(upload_pending(a, lat) for a in agents if a.pending))
        if not any(a.pending for a in agents):
            return 0
        await asyncio.sleep(1)
    return sum(len(a.pending) for a in agents)


def backlog_bodies(agents: list[Agent], per_agent: int, retry_share: float,
                   ) -> list[tuple[Agent, bytes, int]]:
    """Each agent's backlog after an outage, as the upload bodies it will send.

    ``retry_share`` of the batches are sent twice (the answer was lost, the agent
    tries again): the core must store them once.
    """
    start = time.time() - per_agent
    jobs = []
    for agent in agents:
        for i in range(per_agent):
            agent.measure(start + i)
        while agent.pending:
            records = agent.pending[:AGENT_BATCH]
            del agent.pending[:len(records)]
            body = agent.body(records)
            jobs.append((agent, body, len(records)))
            if random.random() < retry_share:
                jobs.append((agent, body, 0))
    return jobs


async def burst(jobs: list[tuple[Agent, bytes, int]], concurrency: int) -> tuple[int, float]:
    """Send every backlog batch as fast as the core takes them; rows and seconds."""
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    failed: list[tuple[Agent, bytes, int]] = []

    async def worker():
        while not queue.empty():
            agent, body, rows = queue.get_nowait()
            if not await timed_post(agent, "/api/v1/agent/records", body, None):
                failed.append((agent, body, rows))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    for agent, body, _ in failed:  # a refused batch is retried until it goes through
        while not await timed_post(agent, "/api/v1/agent/records", body, None):
            await asyncio.sleep(0.5)
    return sum(rows for _, _, rows in jobs), time.perf_counter() - start
