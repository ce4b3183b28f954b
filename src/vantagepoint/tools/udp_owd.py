"""udp-owd: one-way delay, loss and delay variation (RFC 2679, 2680, 3393; TWAMP-light).

A ``sender`` action sends numbered, timestamped UDP probes on an absolute-deadline
schedule (at real-time priority where the node allows it, so that a busy node
does not hold probes back); a ``receiver`` action on another node records each probe's kernel
receive time. The core's ``owd-join`` processor joins the two halves into
per-packet ``owd_ms``, ``loss`` and ``ipdv_ms`` and summary statistics. With
``reflect: true`` the receiver echoes probes back (a reflector) and the sender
reports round-trip time and both one-way delays itself. Send times are the
kernel's transmit timestamps where it gives them (``owdwire``): a sender's ``tx``
records carry them, a reflector sends its own after each echo.
"""

from __future__ import annotations

import select
import socket
import time
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import RunContext, Tool
from vantagepoint.tools.owdwire import (
    FOLLOW_UP,
    HEADER,
    REFLECTED,
    Probe,
    drain_tx_timestamps,
    enable_timestamps,
    enable_tx_timestamps,
    receive,
    session_id,
    tx_timestamp,
)
from vantagepoint.tools.realtime import realtime

NS = 1_000_000_000
SPIN_NS = 300_000  # the last stretch before a deadline is waited out by spinning


def _ms(name: str, description: str, conditionable: bool = True,
        derived: bool = False) -> ResultSpec:
    return ResultSpec(name=name, unit="ms", description=description,
                      conditionable=conditionable, derived=derived)


class UdpOwd(Tool):
    """One-way delay between two nodes, or round trip against a reflector."""

    name = "udp-owd"
    version = "1.0"
    description = "One-way delay, loss and delay variation of UDP probes (IPPM, TWAMP-light)."
    config_schema = {
        "type": "object", "additionalProperties": False,
        "required": ["role", "session"],
        "properties": {
            "role": {"enum": ["sender", "receiver"]},
            "session": {"type": "string", "minLength": 1, "maxLength": 64,
                        "description": "Pairs a sender with its receiver."},
            "target": {"type": "string", "minLength": 1, "description": "Receiver address."},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 8620},
            "interval": {"type": "number", "minimum": 0.001, "default": 0.1},
            "count": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": HEADER.size, "maximum": 1472,
                     "default": 64},
            "reflect": {"type": "boolean", "default": False},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        },
        # A sender needs its receiver's address: refused at submission, not at init.
        "if": {"properties": {"role": {"const": "sender"}}},
        "then": {"required": ["target"]},
        "examples": [{"role": "receiver", "session": "s1", "port": 18620}],
    }
    results = [
        ResultSpec(name="tx", type="object", conditionable=False,
                   description="Sender half: {seq, t_send_ns} per probe."),
        ResultSpec(name="rx", type="object", conditionable=False,
                   description="Receiver half: {seq, t_send_ns, t_recv_ns} per probe."),
        ResultSpec(name="sent", type="integer", conditionable=False),
        ResultSpec(name="received", type="integer"),
        _ms("rtt_ms", "Round trip, reflect mode."),
        _ms("owd_up_ms", "Sender to reflector, reflect mode."),
        _ms("owd_down_ms", "Reflector to sender, reflect mode."),
        _ms("owd_ms", "One-way delay per probe (joined at the core).", derived=True),
        ResultSpec(name="loss", type="integer", derived=True,
                   description="1 if the probe was lost (joined at the core)."),
        _ms("ipdv_ms", "Delay variation to the previous probe (joined at the core).", derived=True),
        ResultSpec(name="owd_record", type="object", conditionable=False,
                   description="Per probe: {seq, owd_ms, ipdv_ms, clock_error_ms} (joined)."),
        _ms("owd_min_ms", "Summary (joined).", derived=True),
        _ms("owd_median_ms", "Summary (joined).", derived=True),
        _ms("owd_p95_ms", "Summary (joined).", derived=True),
        ResultSpec(name="loss_pct", unit="%", description="Summary."),
        _ms("ipdv_mean_ms", "Summary: mean absolute delay variation (joined).", derived=True),
        _ms("clock_error_ms", "Estimated bound of the clocks' disagreement.",
            conditionable=False),
    ]

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        self.check_config(config, requested)
        self.config = {"port": 8620, "interval": 0.1, "size": 64, "reflect": False,
                       "timeout": 1.0, **config}
        if self.config["role"] == "sender" and "target" not in config:
            raise ToolError("a udp-owd sender needs a target (the receiver's address)")
        self.session = session_id(self.config["session"])
        self.sock = self._open()

    def _open(self) -> socket.socket:
        role, port = self.config["role"], self.config["port"]
        family, address = socket.AF_INET, ("0.0.0.0", port if role == "receiver" else 0)
        if role == "sender":
            family, _, _, _, self.peer = socket.getaddrinfo(
                self.config["target"], port, type=socket.SOCK_DGRAM)[0]
            address = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        elif ":" in self.config.get("target", ""):
            family, address = socket.AF_INET6, ("::", port)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if self.env.device:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                self.env.device.encode())
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise ToolError(f"cannot open UDP port {address[1]}: {exc.strerror}") from exc
        self.kernel_timestamps = enable_timestamps(sock)
        sends = self.config["role"] == "sender" or self.config["reflect"]
        self.tx_stamps = sends and enable_tx_timestamps(sock)
        self.sends, self.tx_misses = 0, 0
        sock.setblocking(False)  # select() also wakes for queued transmit stamps
        self.wire_sent: dict[int, int] = {}  # sender: seq -> kernel transmit time
        self.wire_back: dict[int, int] = {}  # sender: seq -> the reflector's, by follow-up
        return sock

    def run(self, ctx: RunContext) -> None:
        if self.config["role"] == "receiver" and self.config["reflect"]:
            with realtime():  # a reflector answers at once: its turnaround is in rtt_ms
                self._receive(ctx)
        elif self.config["role"] == "receiver":
            self._receive(ctx)
        else:
            self._send(ctx)

    def finish(self) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.close()
            self.sock = None

    # ---- receiver / reflector ---------------------------------------------

    def _receive(self, ctx: RunContext) -> None:
        got = 0
        ctx.log(f"udp-owd receiver on port {self.config['port']}"
                + (" (reflecting)" if self.config["reflect"] else ""))
        while not ctx.stopping:
            if not select.select([self.sock], [], [], min(0.2, ctx.remaining))[0]:
                continue
            datagram = self._read()
            if datagram is None:
                continue
            data, addr, t_recv = datagram
            probe = Probe.unpack(data)
            if probe is None or probe.session != self.session or probe.flags & REFLECTED:
                continue
            got += 1
            if self.config["reflect"]:
                self._reflect(probe, addr, t_recv, len(data))
            ctx.emit("rx", {"seq": probe.seq, "t_send_ns": probe.t_send, "t_recv_ns": t_recv},
                     ts=t_recv / NS)
        ctx.emit("received", got)

    def _reflect(self, probe: Probe, addr, t_recv: int, size: int) -> None:
        """Echo the probe; then its kernel transmit time in a follow-up (two-step)."""
        echo = Probe(probe.session, probe.seq, probe.t_send, REFLECTED, t_recv, time.time_ns())
        wire = self._send_stamped(echo.pack(size), addr)
        if wire is not None:
            follow = Probe(probe.session, probe.seq, probe.t_send, REFLECTED | FOLLOW_UP,
                           t_recv, wire)
            self.sock.sendto(follow.pack(HEADER.size), addr)
            self.sends += 1  # its stamp is drained unread

    def _send_stamped(self, data: bytes, addr) -> int | None:
        """Send; the kernel's transmit time of it, while the device gives them (after
        three misses in a row it is not asked again: each ask may wait up to 1 ms)."""
        self.sock.sendto(data, addr)
        ident, self.sends = self.sends, self.sends + 1
        if not self.tx_stamps:
            return None
        wire = tx_timestamp(self.sock, ident)
        self.tx_misses = 0 if wire is not None else self.tx_misses + 1
        self.tx_stamps = self.tx_misses < 3
        return wire

    def _read(self) -> tuple[bytes, tuple, int] | None:
        """One datagram, or None when only transmit stamps were queued (drained)."""
        try:
            return receive(self.sock)
        except BlockingIOError:
            drain_tx_timestamps(self.sock)
            return None

    # ---- sender -------------------------------------------------------------

    def _send(self, ctx: RunContext) -> None:
        echoes: dict[int, tuple[Probe, int]] = {}
        with realtime() as granted:
            ctx.log(f"udp-owd sender to {self.config['target']}:{self.config['port']} every "
                    f"{self.config['interval']:g} s"
                    + ("" if granted else " (no real-time priority: a busy node may delay "
                                          "probes)"))
            seq = self._send_schedule(ctx, echoes)
        if self.config["reflect"]:
            self._drain(echoes, time.monotonic() + self.config["timeout"])
            self._report_round_trips(ctx, echoes, seq)
        ctx.emit("sent", seq)

    def _send_schedule(self, ctx: RunContext, echoes: dict) -> int:
        """Send probe k at start + k * interval (absolute deadlines); how many were sent."""
        interval_ns = round(self.config["interval"] * NS)
        count = self.config.get("count")
        start, seq = time.time_ns(), 0
        while not ctx.stopping and (count is None or seq < count):
            self._wait_until(start + seq * interval_ns, ctx, echoes)
            if ctx.stopping:
                break
            t_send = time.time_ns()
            wire = self._send_stamped(Probe(self.session, seq, t_send).pack(
                self.config["size"]), self.peer)
            self.wire_sent[seq] = wire or t_send
            ctx.emit("tx", {"seq": seq, "t_send_ns": wire or t_send}, ts=t_send / NS)
            seq += 1
        return seq

    def _wait_until(self, deadline_ns: int, ctx: RunContext, echoes: dict) -> None:
        """Sleep (reading echoes meanwhile) until the deadline, spinning the last stretch."""
        while True:
            left = deadline_ns - time.time_ns()
            if left <= 0 or ctx.stopping:
                return
            if left > SPIN_NS:
                wait = min((left - SPIN_NS) / NS, ctx.remaining)
                if select.select([self.sock], [], [], wait)[0]:
                    self._take_echo(echoes)

    def _take_echo(self, echoes: dict) -> None:
        got = self._read()
        if got is None:
            return
        data, _addr, t_back = got
        probe = Probe.unpack(data)
        if probe is None or probe.session != self.session or not probe.flags & REFLECTED:
            return
        if probe.flags & FOLLOW_UP:
            self.wire_back[probe.seq] = probe.t_reflect_send
        else:
            echoes.setdefault(probe.seq, (probe, t_back))

    def _drain(self, echoes: dict, until: float) -> None:
        while (left := until - time.monotonic()) > 0:
            if select.select([self.sock], [], [], left)[0]:
                self._take_echo(echoes)

    def _report_round_trips(self, ctx: RunContext, echoes: dict, sent: int) -> None:
        for seq in sorted(echoes):
            probe, t_back = echoes[seq]
            ts = probe.t_send / NS
            out = self.wire_sent.get(seq, probe.t_send)
            back = self.wire_back.get(seq, probe.t_reflect_send)
            ctx.emit("rtt_ms", (t_back - out) / 1e6, ts=ts)
            ctx.emit("owd_up_ms", (probe.t_reflect_recv - out) / 1e6, ts=ts)
            ctx.emit("owd_down_ms", (t_back - back) / 1e6, ts=ts)
        ctx.emit("received", len(echoes))
        if sent:
            ctx.emit("loss_pct", 100.0 * (sent - len(echoes)) / sent)
