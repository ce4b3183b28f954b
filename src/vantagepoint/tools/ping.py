"""The ``ping`` tool: ICMP echo round-trip times and loss to one target.

It opens a raw ICMP socket when the process may (root or CAP_NET_RAW), else
the unprivileged ICMP datagram socket Linux offers to the groups listed in
``net.ipv4.ping_group_range``; with ``env.device`` it is bound to that device
(SO_BINDTODEVICE). Requests go out on a fixed grid (start + k * interval) so
the schedule never drifts; replies are matched by identifier and sequence
number. A round-trip time runs from just before the send to the kernel's
receive timestamp (SO_TIMESTAMPNS) where the kernel gives one, else to the
moment user space read the reply.

Requests still unanswered (and not yet timed out) when the period ends get a
short grace; those still in flight after it are counted neither as sent nor
as lost. A second reply to one request is a duplicate: counted in the
``atlas`` record's ``dup``, never as a reply.

When the action requests it, each run ends with the ``atlas`` result: the run
as a RIPE Atlas ping result (``vantagepoint.tools.atlas`` says how its ids are
mapped). Its ``step`` is null: in Atlas it is a measurement's repeat period,
which a tool does not know.
"""

from __future__ import annotations

import secrets
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools import atlas
from vantagepoint.tools.base import ActionEnv, RunContext, Tool
from vantagepoint.tools.icmp import (
    Received,
    bind_device,
    echo_request,
    enable_receive_info,
    open_socket,
    parse_reply,
    receive,
    resolve,
    round_trip_ms,
    set_ttl,
    source_address,
)
from vantagepoint.tools.icmp import checksum as checksum  # re-exported for tests

STOP_GRACE = 0.25  # seconds left to replies in flight when the period ends
POLL = 0.1  # longest select, so that a cancellation is noticed promptly

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["target"],
    "properties": {
        "target": {"type": "string", "minLength": 1,
                   "description": "Host name, IPv4 or IPv6 address to ping."},
        "count": {"type": "integer", "minimum": 1,
                  "description": "Echo requests to send; without it, ping until the "
                                 "end of the period."},
        "interval": {"type": "number", "minimum": 0.01, "default": 1.0,
                     "description": "Seconds between two requests."},
        "size": {"type": "integer", "minimum": 0, "maximum": 65000, "default": 56,
                 "description": "Payload bytes of each request."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                    "description": "Seconds to wait for each reply."},
        "ttl": {"type": "integer", "minimum": 1, "maximum": 255,
                "description": "IPv4 TTL or IPv6 hop limit of the requests."},
    },
    "examples": [{"target": "127.0.0.1", "count": 3, "interval": 0.2}],
}


def _ms(name: str, description: str) -> ResultSpec:
    return ResultSpec(name=name, type="number", unit="ms", description=description)


RESULTS = [
    _ms("rtt_ms", "Round-trip time of one reply (timestamped with its request)."),
    # How many were sent follows from the config, not the network: nothing to watch.
    ResultSpec(name="sent", type="integer", unit="packets", description="Requests sent.",
               conditionable=False),
    ResultSpec(name="received", type="integer", unit="packets", description="Replies received."),
    ResultSpec(name="loss_pct", type="number", unit="%", description="Requests without reply."),
    ResultSpec(name="loss", type="integer", description="Per request, when requested: 1 if it "
               "timed out, 0 if answered (for windowed loss conditions: loss_pct(30s) > 5)."),
    _ms("rtt_min_ms", "Smallest round-trip time (only when a reply came)."),
    _ms("rtt_avg_ms", "Mean round-trip time (only when a reply came)."),
    _ms("rtt_max_ms", "Largest round-trip time (only when a reply came)."),
    ResultSpec(name="atlas", type="object", conditionable=False,
               description="The run as a RIPE Atlas ping result (one per run, when requested)."),
]


@dataclass(frozen=True)
class Settings:
    """A validated ping config with its defaults filled in."""

    target: str
    count: int | None = None
    interval: float = 1.0
    size: int = 56
    timeout: float = 1.0
    ttl: int | None = None


class Ping(Tool):
    """ICMP echo to one host: per-reply RTT, then loss and RTT statistics."""

    name = "ping"
    version = "1.1"
    description = "ICMP echo (IPv4 and IPv6): round-trip times, packet loss, Atlas record."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.sock: socket.socket | None = None

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, resolve the target and open the socket."""
        check_config(config, requested)
        self.settings = Settings(**config)
        self.family, self.addr = resolve(self.settings.target, "ping")
        self.sock, self.raw = open_socket(self.family)
        self.sock.setblocking(False)
        if self.env.device:
            bind_device(self.sock, self.env.device)
        if self.settings.ttl is not None:
            set_ttl(self.sock, self.family, self.settings.ttl)
        self.kernel_stamps = enable_receive_info(self.sock, self.family)
        self.src_addr = source_address(self.family, self.addr, self.env.device)

    def run(self, ctx: RunContext) -> None:
        """Send requests until count or the end of the period, then the summary."""
        ctx.log(self._start_line())
        started = time.time()
        tally = _Session(self, ctx).run()
        report(ctx, tally)
        if "atlas" in ctx.requested:
            ctx.emit("atlas", self.record(tally, started))

    def finish(self) -> None:
        """Close the socket."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def record(self, t: Tally, started: float) -> dict[str, Any]:
        """The run as a RIPE Atlas ping result."""
        head = atlas.header("ping", self.version, self.env.action, self.family,
                            (self.addr[0], self.settings.target), self.src_addr, "ICMP",
                            started)
        first_ttl = next((e["ttl"] for e in t.entries if e and "ttl" in e), None)
        entries = [_entry(e, first_ttl) for e in t.entries]
        return {**head, "sent": t.sent - t.in_flight, "rcvd": t.received,
                "dup": t.duplicates, **atlas.ping_stats(t.rtts), "size": self.settings.size,
                "step": None, "ttl": first_ttl, "result": entries}

    def _start_line(self) -> str:
        s = self.settings
        where = self.env.device or self.env.interface or "default route"
        count = f"{s.count} packets" if s.count else "until the end of the period"
        stamps = "kernel" if self.kernel_stamps else "user-space"
        return (f"ping {s.target} ({self.addr[0]}) from {self.env.node} ({where}): {count}, "
                f"{s.size} bytes every {s.interval:g} s, {stamps} receive timestamps")


def _entry(entry: dict[str, Any] | None, first_ttl: int | None) -> dict[str, Any]:
    """One packet of the Atlas ``result`` list; the TTL only where it differs."""
    if entry is None:
        return atlas.timeout()
    if entry.get("ttl") == first_ttl:
        entry = {k: v for k, v in entry.items() if k != "ttl"}
    return entry


def check_config(config: dict[str, Any], requested: list[str]) -> None:
    """Refuse a config the schema rejects or a result ping does not produce."""
    errors = list(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(config))
    if errors:
        raise ToolError("invalid ping config: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or 'config'}: {e.message}" for e in errors))
    known = [r.name for r in RESULTS]
    for name in requested:
        if name not in known:
            raise ToolError(f"ping does not produce result {name!r} "
                            f"(it produces: {', '.join(known)})")


@dataclass
class Tally:
    """What a run counted, and each packet's entry for the Atlas record."""

    sent: int = 0
    received: int = 0
    in_flight: int = 0
    send_errors: int = 0
    duplicates: int = 0
    kernel_stamped: int = 0
    rtts: list[float] = field(default_factory=list)
    entries: list[dict[str, Any] | None] = field(default_factory=list)  # None: no reply

    def add(self, rtt: float) -> None:
        """Count one reply and its round-trip time."""
        self.received += 1
        self.rtts.append(rtt)

    @property
    def rtt_min(self) -> float:
        return min(self.rtts)

    @property
    def rtt_max(self) -> float:
        return max(self.rtts)

    @property
    def rtt_sum(self) -> float:
        return sum(self.rtts)


@dataclass(frozen=True)
class _Probe:
    sent_ns: int  # perf_counter_ns at send
    sent_wall_ns: int  # time_ns at send, against the kernel's receive timestamp
    sent_at: float  # epoch seconds, the timestamp of its rtt
    deadline: float  # perf_counter seconds
    slot: int  # its index in the Atlas entries


class _Session:
    """One run of requests and replies over an open socket."""

    def __init__(self, tool: Ping, ctx: RunContext):
        self.tool, self.ctx, self.s = tool, ctx, tool.settings
        self.ident = secrets.randbits(16)  # the kernel replaces it on datagram sockets
        self.payload = bytes(i & 0xFF for i in range(self.s.size))
        self.pending: dict[int, _Probe] = {}  # by sequence, in send order
        self.answered: dict[int, _Probe] = {}  # by sequence: a further reply is a duplicate
        self.tally = Tally()
        self.start = self.next_send = time.perf_counter()
        self.slot = 0
        self.grace_end: float | None = None
        self.per_probe_loss = "loss" in ctx.requested

    def run(self) -> Tally:
        """Send, receive and expire until done; what was counted."""
        while not self._done():
            now = time.perf_counter()
            self._expire(now)
            if self._sending() and now >= self.next_send:
                self._send(now)
            else:
                self._receive(self._wait(now))
        self.tally.in_flight = len(self.pending)
        for probe in sorted(self.pending.values(), key=lambda p: -p.slot):
            del self.tally.entries[probe.slot]  # neither sent nor lost
        return self.tally

    def _done(self) -> bool:
        now = time.perf_counter()
        if self.grace_end is None and self.ctx.stopping:
            self.grace_end = now + min(STOP_GRACE, self.s.timeout)
        if self._sending():
            return False
        return not self.pending or (self.grace_end is not None and now >= self.grace_end)

    def _sending(self) -> bool:
        more = self.s.count is None or self.tally.sent < self.s.count
        return more and self.grace_end is None

    def _wait(self, now: float) -> float:
        wake = [next(iter(self.pending.values())).deadline] if self.pending else []
        if self._sending():
            wake += [self.next_send, now + self.ctx.remaining]
        if self.grace_end is not None:
            wake.append(self.grace_end)
        return min(max(0.0, min(wake, default=now) - now), POLL)

    def _expire(self, now: float) -> None:
        for seq, probe in list(self.pending.items()):
            if probe.deadline > now:
                break
            del self.pending[seq]
            if self.per_probe_loss:
                self.ctx.emit("loss", 1, probe.sent_at)

    def _send(self, now: float) -> None:
        seq = self.tally.sent & 0xFFFF
        self.pending.pop(seq, None)  # 65536 requests ago: long lost
        self.answered.pop(seq, None)
        packet = echo_request(self.tool.family, self.ident, seq, self.payload)
        self.tally.sent += 1
        self._advance(now)
        sent_ns, sent_wall_ns = time.perf_counter_ns(), time.time_ns()
        try:
            self.tool.sock.sendto(packet, self.tool.addr)
        except OSError as exc:
            self._send_failed(exc)
            return
        self.pending[seq] = _Probe(sent_ns, sent_wall_ns, sent_wall_ns / 1e9,
                                   sent_ns / 1e9 + self.s.timeout, len(self.tally.entries))
        self.tally.entries.append(None)

    def _advance(self, now: float) -> None:
        self.slot += 1
        if self.start + self.slot * self.s.interval < now:
            # Fell behind (a stall): skip the missed slots rather than burst.
            self.slot = int((now - self.start) / self.s.interval) + 1
        self.next_send = self.start + self.slot * self.s.interval

    def _send_failed(self, exc: OSError) -> None:
        self.tally.send_errors += 1
        self.tally.entries.append({"error": exc.strerror or str(exc)})
        if self.tally.send_errors == 1:
            self.ctx.log(f"sending to {self.tool.addr[0]} failed: {exc.strerror or exc}",
                         "warning")

    def _receive(self, timeout: float) -> None:
        ready, _, _ = select.select([self.tool.sock], [], [], timeout)
        while ready:
            try:
                got = receive(self.tool.sock)
            except OSError:  # nothing left (EAGAIN) or a queued ICMP error
                return
            self._match(got)

    def _match(self, got: Received) -> None:
        reply = parse_reply(got.data, self.tool.family, self.tool.raw)
        if reply is None:
            return
        ident, seq = reply
        if self.tool.raw and ident != self.ident:
            return  # another process's ping
        probe = self.pending.pop(seq, None)
        duplicate = probe is None and seq in self.answered
        probe = probe or self.answered.get(seq)
        if probe is None:
            return  # a reply after its timeout
        rtt, kernel = round_trip_ms(probe.sent_wall_ns, probe.sent_ns, got)
        entry = {"rtt": atlas.ms(rtt), **({"ttl": got.ttl} if got.ttl is not None else {})}
        if duplicate:
            self.tally.duplicates += 1
            self.tally.entries.append({**entry, "dup": 1})
            return
        self.answered[seq] = probe
        self.tally.entries[probe.slot] = entry
        self.tally.kernel_stamped += kernel
        self.tally.add(rtt)
        self.ctx.emit("rtt_ms", rtt, probe.sent_at)
        if self.per_probe_loss:
            self.ctx.emit("loss", 0, probe.sent_at)


def report(ctx: RunContext, t: Tally) -> None:
    """Emit the summary results and log the summary line."""
    sent = t.sent - t.in_flight
    ctx.emit("sent", sent)
    ctx.emit("received", t.received)
    line = f"{sent} sent, {t.received} received"
    if sent:
        loss = 100.0 * (sent - t.received) / sent
        ctx.emit("loss_pct", loss)
        line += f", {loss:.3g}% loss"
    if t.received:
        avg = t.rtt_sum / t.received
        for name, value in (("rtt_min_ms", t.rtt_min), ("rtt_avg_ms", avg),
                            ("rtt_max_ms", t.rtt_max)):
            ctx.emit(name, value)
        line += f", rtt min/avg/max {t.rtt_min:.3f}/{avg:.3f}/{t.rtt_max:.3f} ms"
        line += f" ({t.kernel_stamped} of {t.received} kernel-timestamped)"
    if t.duplicates:
        line += f", {t.duplicates} duplicates"
    if t.in_flight:
        line += f"; {t.in_flight} still in flight at the end, not counted"
    if t.send_errors:
        line += f"; {t.send_errors} could not be sent"
    ctx.log(line)
