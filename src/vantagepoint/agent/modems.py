"""Bus source for the measurement interfaces: ``MONROE.META.DEVICE.MODEM.<id>.<EVENT>``.

Without a modem manager to ask, each interface is described by the fields the
configuration gives for it (ICCID, IMSI, Operator, IMSIMCCMNC, NWMCCMNC,
DeviceMode, ...) plus what the kernel says: its device, whether it is up and
its IPv4 address. UPDATE goes out every ``modem_seconds``; STATE whenever the
state or the address changes. The id is the ICCID when configured (a stable
identifier across reboots), else the interface name.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import time
from pathlib import Path
from typing import Any

from vantagepoint.agent.uploader import _Periodic
from vantagepoint.bus.message import modem_topic
from vantagepoint.bus.publisher import Publisher

SYS_NET = Path("/sys/class/net")
SIOCGIFADDR = 0x8915
CONNECTED, DISCONNECTED = 3, 1  # DeviceState as the old testbed's modem manager numbered them
CHECK_SECONDS = 1.0


def ipv4_address(device: str) -> str | None:
    """The device's IPv4 address, or None (no address, no such device)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", device[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def is_up(device: str, root: Path = SYS_NET) -> bool:
    """True when the device exists and its operational state is not down."""
    try:
        state = (root / device / "operstate").read_text().strip()
    except OSError:
        return False
    return state in ("up", "unknown")  # loopback and tunnels say "unknown"


class Modems(_Periodic):
    """Watches every measurement interface; UPDATE periodically, STATE on change."""

    def __init__(self, bus: Publisher, interfaces: dict[str, str],
                 modems: dict[str, dict[str, Any]], period: float):
        super().__init__("modems", 0.0)
        self.bus, self.interfaces, self.modems, self.period = bus, interfaces, modems, period
        self._seen: dict[str, tuple[int, str | None]] = {}
        self._next_update = 0.0

    def tick(self) -> float:
        now = time.monotonic()
        update = now >= self._next_update
        if update:
            self._next_update = now + self.period
        for name, device in self.interfaces.items():
            fields = self.describe(name, device or name)
            key = (fields["DeviceState"], fields["IPAddress"])
            if self._seen.get(name) != key:
                self._seen[name] = key
                self.bus.publish(modem_topic(self.modem_id(name), "STATE"), fields)
            if update:
                self.bus.publish(modem_topic(self.modem_id(name), "UPDATE"), fields)
        return min(CHECK_SECONDS, self.period)

    def modem_id(self, name: str) -> str:
        return str(self.modems.get(name, {}).get("ICCID") or name)

    def describe(self, name: str, device: str) -> dict[str, Any]:
        up = is_up(device)
        return {**self.modems.get(name, {}), "InterfaceName": device, "InternalInterface": name,
                "IPAddress": ipv4_address(device) if up else None,
                "DeviceState": CONNECTED if up else DISCONNECTED}
