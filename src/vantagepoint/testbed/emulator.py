"""User-space link emulator: delay, jitter, loss and reordering between two links.

The kernel here has no netem, so a link that needs impairments is cut in two:
the node's veth ends on link A, the bridge's on link B, and this process moves
every Ethernet frame between them through AF_PACKET sockets, holding each one
until its due time. One thread, one heap of (due, seq, side, frame); it sleeps
in select() until the next due time less SPIN_NS and busy-waits the rest, so a
frame leaves within tens of microseconds of its deadline. A frame's delay runs
from the kernel's receive timestamp (SO_TIMESTAMPNS), not from when this
process got around to reading it, so a late wake-up does not lengthen it.

    python -m vantagepoint.testbed.emulator --a e1o0a --b e1o0b --delay-ms 20
"""

from __future__ import annotations

import argparse
import ctypes
import heapq
import itertools
import os
import random
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

from vantagepoint.testbed.impairment import DelayLine, Impairment

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("qq")
ANCILLARY = socket.CMSG_SPACE(TIMESPEC.size)
PR_SET_TIMERSLACK = 29
SPIN_NS = 150_000  # busy-wait the last 150 us before a deadline
IDLE_S = 1.0
BATCH = 64  # frames read from one side before looking at the clock again
LIMIT = 20_000  # frames held at most (both ways); more are dropped, as netem's limit does
STATS_EVERY_NS = 5 * 10**9
# Low real-time priority: above every ordinary process, below the kernel's own threads;
# the kernel's RT throttling (95 %) still leaves the host some time in the worst case.
DEFAULT_PRIORITY = 10


def open_side(device: str) -> socket.socket:
    """A non-blocking raw socket on ``device`` that sees frames arriving there only."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    for option, size in ((SO_RCVBUFFORCE, 8 << 20), (SO_SNDBUFFORCE, 8 << 20)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
        except OSError:
            pass
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass  # older kernels: frames we send are recognised by their packet type below
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        pass  # no arrival stamps: delays run from when a frame is read
    sock.bind((device, ETH_P_ALL))
    sock.setblocking(False)
    return sock


def arrival_ns(ancillary: list, clock_offset_ns: int) -> int:
    """A frame's arrival on the monotonic clock: the kernel's stamp, else now.

    A stamp in the future or over a second old means the realtime clock stepped.
    """
    now = time.monotonic_ns()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = TIMESPEC.unpack_from(data)
            stamp = sec * 1_000_000_000 + nsec - clock_offset_ns
            return stamp if 0 <= now - stamp <= 1_000_000_000 else now
    return now


@dataclass
class Counters:
    """Frames forwarded and dropped per direction, and how late frames left."""

    forwarded: list[int] = field(default_factory=lambda: [0, 0])  # a>b: taken, dropped
    backward: list[int] = field(default_factory=lambda: [0, 0])  # b>a: taken, dropped
    send_errors: int = 0
    late_max_ns: int = 0
    late_over_1ms: int = 0

    def late(self, ns: int) -> None:
        """Count a frame that left ``ns`` after its due time."""
        self.late_max_ns = max(self.late_max_ns, ns)
        self.late_over_1ms += ns > 1_000_000

    def report(self) -> str:
        """One log line; the lateness maximum restarts after it."""
        line = (f"a>b taken {self.forwarded[0]} dropped {self.forwarded[1]}, "
                f"b>a taken {self.backward[0]} dropped {self.backward[1]}, "
                f"send errors {self.send_errors}, latest {self.late_max_ns / 1000:.0f} us, "
                f"over 1 ms late {self.late_over_1ms}")
        self.late_max_ns = 0
        return line


class Emulator:
    """Moves frames between two sockets, each direction through its DelayLine."""

    def __init__(self, sides: tuple[socket.socket, socket.socket],
                 lines: tuple[DelayLine, DelayLine]):
        self.sides = sides
        self.lines = lines  # lines[i]: frames that arrive on sides[i]
        self.heap: list[tuple[int, int, int, bytes]] = []
        self.seq = itertools.count()
        self.buffer = bytearray(65536)
        self.stats = Counters()

    def serve_forever(self) -> None:
        """Forward until killed."""
        next_stats = time.monotonic_ns() + STATS_EVERY_NS
        while True:
            self.step()
            if time.monotonic_ns() >= next_stats:
                next_stats += STATS_EVERY_NS
                print(f"emulator stats: {self.stats.report()}", flush=True)

    def step(self) -> None:
        """Send what is due, then wait for frames until the next deadline."""
        now = time.monotonic_ns()
        heap = self.heap
        while heap and heap[0][0] <= now:
            due, _, side, frame = heapq.heappop(heap)
            self.stats.late(time.monotonic_ns() - due)
            self._send(side, frame)
        wait_ns = heap[0][0] - time.monotonic_ns() if heap else int(IDLE_S * 1e9)
        timeout = max(0.0, (wait_ns - SPIN_NS) / 1e9)
        readable, _, _ = select.select(self.sides, (), (), timeout)
        for sock in readable:
            self._receive(0 if sock is self.sides[0] else 1)

    def _receive(self, side: int) -> None:
        sock, line, out = self.sides[side], self.lines[side], 1 - side
        counts = self.stats.forwarded if side == 0 else self.stats.backward
        view = memoryview(self.buffer)
        offset = time.time_ns() - time.monotonic_ns()  # realtime stamps -> monotonic
        for _ in range(BATCH):
            try:
                size, ancillary, _, address = sock.recvmsg_into([self.buffer], ANCILLARY)
            except BlockingIOError:
                return
            if address[2] == PACKET_OUTGOING:
                continue
            due = line.due(arrival_ns(ancillary, offset))
            if due is None or len(self.heap) >= LIMIT:
                counts[1] += 1
                continue
            counts[0] += 1
            heapq.heappush(self.heap, (due, next(self.seq), out, bytes(view[:size])))

    def _send(self, side: int, frame: bytes) -> None:
        try:
            self.sides[side].send(frame)
        except OSError:  # the qdisc behind it is full (a rate limit): the frame is lost
            self.stats.send_errors += 1


def tighten_timers() -> None:
    """Ask the kernel to wake this process on time (timer slack 1 ns)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def realtime(priority: int) -> None:
    """Run ahead of ordinary processes (SCHED_FIFO), so a busy host delays no frame."""
    if priority <= 0:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError) as exc:
        print(f"running without real-time priority: {exc}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vantagepoint.testbed.emulator",
                                     description="Forward frames between two links "
                                                 "with delay, jitter, loss, reordering.")
    parser.add_argument("--a", required=True, help="link on the node's side")
    parser.add_argument("--b", required=True, help="link on the network's side")
    for name in ("delay-ms", "jitter-ms", "loss-pct", "reorder-pct"):
        parser.add_argument(f"--{name}", type=float, default=0.0)
    parser.add_argument("--priority", type=int, default=DEFAULT_PRIORITY,
                        help="SCHED_FIFO priority (0: ordinary scheduling)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable runs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the emulator on two links until killed."""
    args = parse_args(argv)
    imp = Impairment(args.delay_ms, args.jitter_ms, args.loss_pct, args.reorder_pct)
    rng = random.Random(args.seed)
    sides = (open_side(args.a), open_side(args.b))
    tighten_timers()
    realtime(args.priority)
    print(f"emulator {args.a} <-> {args.b}: {imp}", flush=True)
    emulator = Emulator(sides, (DelayLine(imp, rng), DelayLine(imp, rng)))
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
