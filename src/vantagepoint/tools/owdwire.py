"""The udp-owd probe packet: sequence, send time and (when reflected) the reflector's times.

Layout (network order): magic "VPOW", session (u32), seq (u64), flags (u32),
t_send, t_reflect_recv, t_reflect_send (u64 nanoseconds since the epoch), then
padding up to the configured size.

A probe carries the time read just before it was handed to the kernel; the
kernel's own transmit timestamp (SO_TIMESTAMPING, taken as the driver sends
it) comes later, from the socket's error queue. Senders keep that one; a
reflector sends it after its echo in a FOLLOW_UP probe (two-step, as in PTP).
"""

from __future__ import annotations

import socket
import struct
import zlib
from dataclasses import dataclass

MAGIC = b"VPOW"
HEADER = struct.Struct("!4sIQIQQQ")
REFLECTED = 1
FOLLOW_UP = 2  # a reflector's transmit time of the echo with the same seq
SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
# Software transmit stamps, numbered (OPT_ID), reported without the packet (OPT_TSONLY).
TX_STAMP_FLAGS = (1 << 1) | (1 << 4) | (1 << 7) | (1 << 11)
EXTENDED_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err; ee_data: the number
RECVERR = ((socket.IPPROTO_IP, 11), (socket.IPPROTO_IPV6, 25))  # IP_RECVERR, IPV6_RECVERR
TX_STAMP_WAIT_NS = 1_000_000  # how long to wait for the kernel's transmit stamp
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
TIMESPEC = struct.Struct("qq")


@dataclass(frozen=True)
class Probe:
    session: int
    seq: int
    t_send: int
    flags: int = 0
    t_reflect_recv: int = 0
    t_reflect_send: int = 0

    def pack(self, size: int) -> bytes:
        head = HEADER.pack(MAGIC, self.session, self.seq, self.flags, self.t_send,
                           self.t_reflect_recv, self.t_reflect_send)
        return head + bytes(max(0, size - len(head)))

    @classmethod
    def unpack(cls, data: bytes) -> Probe | None:
        """The probe in ``data``, or None for anything that is not one of ours."""
        if len(data) < HEADER.size:
            return None
        magic, session, seq, flags, t_send, t_rr, t_rs = HEADER.unpack_from(data)
        if magic != MAGIC:
            return None
        return cls(session, seq, t_send, flags, t_rr, t_rs)


def session_id(name: str) -> int:
    """A stable 32-bit identifier for a session name shared by sender and receiver."""
    return zlib.crc32(name.encode())


def enable_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel for receive timestamps; False where it will not give them."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def receive(sock: socket.socket, bufsize: int = 65535) -> tuple[bytes, tuple, int]:
    """One datagram, its sender and its receive time (kernel's when given, in ns)."""
    import time

    data, ancillary, _flags, addr = sock.recvmsg(bufsize, socket.CMSG_SPACE(TIMESPEC.size))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(payload) >= 16:
            sec, nsec = TIMESPEC.unpack_from(payload)
            return data, addr, sec * 1_000_000_000 + nsec
    return data, addr, time.time_ns()


def enable_tx_timestamps(sock: socket.socket) -> bool:
    """Ask for the kernel's transmit timestamps; False where it will not give them."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, TX_STAMP_FLAGS)
        return True
    except OSError:
        return False


def drain_tx_timestamps(sock: socket.socket) -> dict[int, int]:
    """Every transmit stamp queued now, by datagram number (0 for the socket's first)."""
    stamps = {}
    while True:
        try:
            _, ancillary, _, _ = sock.recvmsg(0, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return stamps
        stamp = ident = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING and len(payload) >= 16:
                sec, nsec = TIMESPEC.unpack_from(payload)
                stamp = sec * 1_000_000_000 + nsec
            elif (level, kind) in RECVERR and len(payload) >= EXTENDED_ERR.size:
                ident = EXTENDED_ERR.unpack_from(payload)[-1]
        if stamp is not None and ident is not None:
            stamps[ident] = stamp


def tx_timestamp(sock: socket.socket, ident: int) -> int | None:
    """The kernel's transmit time (ns) of datagram ``ident``; None if it did not come
    within TX_STAMP_WAIT_NS (e.g. held for address resolution). Drains the error queue."""
    import time

    give_up = time.monotonic_ns() + TX_STAMP_WAIT_NS
    while True:
        stamp = drain_tx_timestamps(sock).get(ident)
        if stamp is not None or time.monotonic_ns() > give_up:
            return stamp
