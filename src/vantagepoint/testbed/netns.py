"""Network namespaces, veth pairs, bridges, addresses and tc, through `ip` and `tc`.

Every function runs one command (or one ioctl) and raises TestbedError with the
command and its output when it fails. ``ns=None`` means the host's namespace.
"""

from __future__ import annotations

import ctypes
import fcntl
import ipaddress
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar

from vantagepoint.testbed.errors import TestbedError

T = TypeVar("T")
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
SIOCETHTOOL = 0x8946
# Legacy ethtool "set" commands: tx checksum, scatter-gather, TSO, GSO, GRO.
ETHTOOL_OFFLOADS = (0x17, 0x19, 0x1F, 0x24, 0x2C)


def run(argv: list[str], check: bool = True) -> str:
    """Run a command and return its stdout; raise TestbedError naming it on failure."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise TestbedError(f"`{argv[0]}` is not installed (the testbed needs iproute2)") from None
    except subprocess.TimeoutExpired:
        raise TestbedError(f"`{' '.join(argv)}` did not finish in 30 s") from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise TestbedError(f"`{' '.join(argv)}` failed (exit {done.returncode}): {detail}")
    return done.stdout


def ip(*args: str, ns: str | None = None, check: bool = True) -> str:
    """`ip [-n NS] ARGS`."""
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def namespaces(prefix: str) -> list[str]:
    """Names of the network namespaces that start with ``prefix``."""
    names = [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix)]


def links(prefix: str, ns: str | None = None) -> list[str]:
    """Names of the links (of the host, or of ``ns``) that start with ``prefix``."""
    names = []
    for line in ip("-o", "link", "show", ns=ns).splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0]
        if name.startswith(prefix):
            names.append(name)
    return names


def addresses_in(network: str) -> list[str]:
    """Host IPv4 addresses inside ``network``, as `DEV ADDRESS/LEN`."""
    net = ipaddress.ip_network(network)
    found = []
    for line in ip("-o", "-4", "address", "show").splitlines():
        fields = line.split()
        interface = ipaddress.ip_interface(fields[3])
        if interface.ip in net:
            found.append(f"{fields[1]} {interface}")
    return found


def add_namespace(name: str) -> None:
    """Create network namespace ``name`` with its loopback up."""
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", ns=name)


def delete_namespace(name: str) -> None:
    """Delete namespace ``name`` (and every link in it); nothing if it is gone."""
    if os.path.exists(os.path.join(NETNS_DIR, name)):
        ip("netns", "delete", name, check=False)


def namespace_pids(name: str) -> list[int]:
    """Processes that live in namespace ``name``."""
    if not os.path.exists(os.path.join(NETNS_DIR, name)):
        return []
    return [int(p) for p in ip("netns", "pids", name, check=False).split()]


def delete_link(name: str, ns: str | None = None) -> None:
    """Delete a link (a veth pair goes with either end); nothing if it is gone."""
    ip("link", "delete", name, ns=ns, check=False)


def add_bridge(name: str) -> None:
    """A bridge on the host, without STP, forwarding at once, up."""
    ip("link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    ip("link", "set", name, "up")


def add_veth(name: str, ns: str | None, peer: str, peer_ns: str | None) -> None:
    """A veth pair with each end created directly in its namespace."""
    ends = [name, *(["netns", ns] if ns else []), "type", "veth", "peer", "name", peer,
            *(["netns", peer_ns] if peer_ns else [])]
    ip("link", "add", *ends)


def attach(dev: str, bridge: str) -> None:
    """Make host link ``dev`` a port of ``bridge``, without IPv6 addresses of its own."""
    ip("link", "set", dev, "master", bridge)
    quiet(dev)
    ip("link", "set", dev, "up")


def quiet(dev: str, ns: str | None = None) -> None:
    """No IPv6 link-local address on ``dev``, so it sends nothing of its own."""
    ip("link", "set", dev, "addrgenmode", "none", ns=ns)


def up(dev: str, ns: str | None = None) -> None:
    """Set a link up."""
    ip("link", "set", dev, "up", ns=ns)


def add_address(dev: str, cidr: str, ns: str | None = None) -> None:
    """Assign ``cidr`` (e.g. 198.18.0.11/24) to ``dev``."""
    ip("address", "add", cidr, "dev", dev, ns=ns)


def add_default_route(gateway: str, dev: str, ns: str) -> None:
    """The default route of ``ns`` via ``gateway`` on ``dev``."""
    ip("route", "replace", "default", "via", gateway, "dev", dev, ns=ns)


def shape(dev: str, rate_mbit: float, queue_ms: float, ns: str | None = None) -> None:
    """Limit the egress of ``dev`` to ``rate_mbit`` with a token bucket (tc tbf)."""
    rate = rate_mbit * 1e6 / 8  # bytes/s
    burst = max(3200, int(rate / 250))  # 4 ms of traffic, at least two frames
    limit = max(int(rate * queue_ms / 1000), burst + 3 * 1514)
    run(["tc", *(["-n", ns] if ns else []), "qdisc", "replace", "dev", dev, "root", "tbf",
         "rate", f"{int(rate_mbit * 1e6)}bit", "burst", str(burst), "limit", str(limit)])


def in_namespace(ns: str | None, fn: Callable[[], T]) -> T:
    """Call ``fn`` in a thread that has entered network namespace ``ns``."""
    if ns is None:
        return fn()
    box: dict[str, object] = {}

    def enter_and_call() -> None:
        try:
            _setns(os.path.join(NETNS_DIR, ns))
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=enter_and_call, name=f"netns-{ns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise TestbedError(f"cannot enter namespace {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def disable_offloads(dev: str, ns: str | None = None) -> None:
    """Turn off checksum, segmentation and GRO offloads of ``dev`` (as `ethtool -K`).

    Frames a user-space emulator reads must be complete: MTU-sized and with their
    checksums filled in, which the kernel only guarantees without these offloads.
    """
    in_namespace(ns, lambda: _ethtool_off(dev))


def _ethtool_off(dev: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for cmd in ETHTOOL_OFFLOADS:
            value = ctypes.create_string_buffer(struct.pack("II", cmd, 0))
            ifreq = struct.pack("16sP", dev.encode(), ctypes.addressof(value))
            try:
                fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq.ljust(40, b"\0"))
            except OSError as exc:
                if exc.errno != 95:  # EOPNOTSUPP: the device has no such offload
                    raise TestbedError(f"cannot turn off offload {cmd:#x} of {dev}: "
                                       f"{exc.strerror}") from None
