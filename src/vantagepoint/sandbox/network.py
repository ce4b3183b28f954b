"""An experiment's own network namespace that sees one measurement interface and no other.

The namespace gets a veth whose inside end carries the interface's name (``op0``);
its traffic leaves only through the real device: a policy-routing table holds
the device's routes alone, nftables masquerades it behind the device's address
and drops what it would send to the node itself. This works for every kind of
device (Ethernet, a modem's raw-IP wwan), needs no spare address in the
operator's network, and the host end's byte counters are exactly the
experiment's traffic. Needs root, ``ip`` (iproute2) and ``nft`` (nftables).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from vantagepoint.errors import ToolError

SUBNET = "198.51.100"  # TEST-NET-2: never on an operator's network; 64 sandboxes of /30
SLOTS = 64
TABLE_BASE = 24000  # policy-routing tables 24000..24063
LOCK = Path(tempfile.gettempdir()) / "vantage-sandbox-net.lock"


def unavailable() -> str | None:
    """Why this host cannot isolate an interface, or None."""
    if os.geteuid() != 0:
        return "isolating a measurement interface needs the agent to run as root"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"isolating a measurement interface needs `{tool}` (Debian package {package})"
    return None


def _run(*argv: str, check: bool = True) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise ToolError(f"network isolation failed: `{' '.join(argv)}`: "
                        f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class Isolation:
    """A namespace with ``inside`` (named like the measurement interface) routed via ``device``."""

    def __init__(self, device: str, inside: str):
        self.device, self.inside = device, inside
        self.slot: int | None = None

    @property
    def namespace(self) -> str:
        return f"vpx-{self.slot}"

    @property
    def host_end(self) -> str:
        return f"vpx{self.slot}h"

    def prefix(self) -> list[str]:
        """What to put before a command so it runs in the namespace."""
        return ["ip", "netns", "exec", self.namespace]

    def up(self) -> None:
        """Create the namespace and its routing; ToolError (after cleaning up) on failure."""
        if not Path(f"/sys/class/net/{self.device}").exists():
            raise ToolError(f"device {self.device!r} does not exist on this node")
        with _locked():
            self.slot = _free_slot()
            try:
                self._build()
            except ToolError:
                self.down()
                raise

    def _build(self) -> None:
        k, ns, host = self.slot, self.namespace, self.host_end
        base = 4 * k
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", host, "type", "veth", "peer", "name", self.inside, "netns", ns)
        _run("ip", "addr", "add", f"{SUBNET}.{base + 1}/30", "dev", host)
        _run("ip", "link", "set", host, "up")
        inside = ["ip", "-n", ns]
        _run(*inside, "link", "set", "lo", "up")
        _run(*inside, "addr", "add", f"{SUBNET}.{base + 2}/30", "dev", self.inside)
        _run(*inside, "link", "set", self.inside, "up")
        _run(*inside, "route", "add", "default", "via", f"{SUBNET}.{base + 1}")
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")
        self._route(k, f"{SUBNET}.{base}/30")
        self._firewall(k, f"{SUBNET}.{base}/30")

    def _route(self, k: int, subnet: str) -> None:
        table = str(TABLE_BASE + k)
        routes = json.loads(_run("ip", "-j", "-4", "route", "show", "dev", self.device) or "[]")
        has_default = False
        for route in routes:
            via = ["via", route["gateway"]] if route.get("gateway") else []
            argv = ["ip", "route", "add", route["dst"], *via, "dev", self.device, "table", table]
            has_default |= route["dst"] == "default"
            _run(*argv)
        if not has_default:  # on-link: the device's own network only, never another device
            _run("ip", "route", "add", "default", "dev", self.device, "table", table)
        _run("ip", "rule", "add", "from", subnet, "lookup", table, "priority", table)

    def _firewall(self, k: int, subnet: str) -> None:
        rules = (f"table ip vpx{k} {{\n"
                 f" chain post {{ type nat hook postrouting priority 100; "
                 f"ip saddr {subnet} oifname \"{self.device}\" masquerade; }}\n"
                 f" chain input {{ type filter hook input priority 0; "
                 f"iifname \"{self.host_end}\" drop; }}\n"
                 f" chain forward {{ type filter hook forward priority 0; "
                 f"iifname \"{self.host_end}\" oifname != \"{self.device}\" drop; }}\n}}\n")
        done = subprocess.run(["nft", "-f", "-"], input=rules, capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise ToolError(f"network isolation failed: nft: {done.stderr.strip()}")

    def traffic(self) -> int:
        """Bytes the experiment sent and received so far."""
        stats = Path(f"/sys/class/net/{self.host_end}/statistics")
        try:
            return int((stats / "rx_bytes").read_text()) + int((stats / "tx_bytes").read_text())
        except (OSError, ValueError):
            return 0

    def down(self) -> None:
        """Remove everything ``up`` made (safe to call twice)."""
        if self.slot is None:
            return
        k = self.slot
        _run("ip", "rule", "del", "priority", str(TABLE_BASE + k), check=False)
        _run("ip", "route", "flush", "table", str(TABLE_BASE + k), check=False)
        _run("nft", "delete", "table", "ip", f"vpx{k}", check=False)
        _run("ip", "link", "del", self.host_end, check=False)
        _run("ip", "netns", "del", self.namespace, check=False)
        self.slot = None


@contextlib.contextmanager
def _locked():
    """One sandbox at a time picks its slot (several actions may start together)."""
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _free_slot() -> int:
    taken = set(_run("ip", "netns", "list", check=False).split())
    for k in range(SLOTS):
        if f"vpx-{k}" not in taken and not Path(f"/sys/class/net/vpx{k}h").exists():
            return k
    raise ToolError(f"every one of the {SLOTS} sandbox network slots is in use on this node")
