"""Bus source ``MONROE.META.DEVICE.GPS``: from gpsd when it answers, else an NMEA replay.

gpsd speaks JSON lines after ``?WATCH``; TPV reports carry the fix. Without
gpsd, a configured NMEA file is replayed in a loop, one fix (a GGA sentence,
with the speed of the last RMC) every ``gps_seconds``; sentences with a bad
checksum or unreadable fields are skipped and counted in the agent's log.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vantagepoint.bus.message import GPS
from vantagepoint.bus.publisher import Publisher

log = logging.getLogger(__name__)
KNOT = 0.514444  # m/s


class BadSentence(ValueError):
    pass


def checked(sentence: str) -> list[str]:
    """The comma-separated fields of an NMEA sentence whose checksum matches."""
    text = sentence.strip()
    if not text.startswith("$") or "*" not in text:
        raise BadSentence(f"not an NMEA sentence: {text[:40]!r}")
    body, _, given = text[1:].partition("*")
    total = 0
    for char in body:
        total ^= ord(char)
    try:
        expected = int(given[:2], 16)
    except ValueError:
        raise BadSentence(f"unreadable checksum: {text[:40]!r}") from None
    if expected != total:
        raise BadSentence(f"checksum {given[:2]} does not match {total:02X}: {text[:40]!r}")
    return body.split(",")


def degrees(value: str, hemisphere: str) -> float:
    """NMEA ``(d)ddmm.mmmm`` and N/S/E/W as signed decimal degrees."""
    head, _, _ = value.partition(".")
    whole = int(value[: len(head) - 2])
    result = whole + float(value[len(head) - 2:]) / 60.0
    return -result if hemisphere in ("S", "W") else result


@dataclass
class Fix:
    latitude: float
    longitude: float
    altitude: float | None
    satellites: int | None
    nmea: str

    def fields(self, speed: float | None) -> dict[str, Any]:
        return {"Latitude": round(self.latitude, 7), "Longitude": round(self.longitude, 7),
                "Altitude": self.altitude, "Speed": speed, "SatelliteCount": self.satellites,
                "NMEA": self.nmea}


def parse_gga(fields: list[str], raw: str) -> Fix | None:
    """A fix from a GGA sentence, or None when it has no fix."""
    if len(fields) < 10 or not fields[2] or fields[6] in ("", "0"):
        return None
    try:
        return Fix(degrees(fields[2], fields[3]), degrees(fields[4], fields[5]),
                   float(fields[9]) if fields[9] else None,
                   int(fields[7]) if fields[7] else None, raw.strip())
    except ValueError as exc:
        raise BadSentence(f"unreadable GGA fields ({exc}): {raw[:60]!r}") from None


def parse_rmc_speed(fields: list[str]) -> float | None:
    """Speed over ground in m/s from an RMC sentence (None when void)."""
    if len(fields) < 8 or fields[2] != "A" or not fields[7]:
        return None
    try:
        return round(float(fields[7]) * KNOT, 3)
    except ValueError:
        raise BadSentence(f"unreadable RMC speed {fields[7]!r}") from None


class Gps:
    """A thread publishing positions from gpsd or from an NMEA file."""

    def __init__(self, bus: Publisher, gpsd: str, nmea_file: Path | None, period: float):
        self.bus, self.gpsd, self.nmea_file, self.period = bus, gpsd, nmea_file, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gps", daemon=True)
        self.source: str | None = None  # "gpsd" or "nmea" once known
        self.skipped = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            conn = socket.create_connection(_address(self.gpsd), timeout=0.5)
        except (OSError, ValueError):
            conn = None
        if conn is not None:
            self.source = "gpsd"
            with conn:
                self._follow_gpsd(conn)
        elif self.nmea_file is not None:
            self.source = "nmea"
            self._replay()

    def _follow_gpsd(self, conn: socket.socket) -> None:
        conn.sendall(b'?WATCH={"enable":true,"json":true};\n')
        conn.settimeout(1.0)
        reader = conn.makefile("r", encoding="utf-8", errors="replace")
        while not self._stop.is_set():
            try:
                line = reader.readline()
            except TimeoutError:
                continue
            if not line:
                log.warning("gpsd closed the connection; no more GPS positions")
                return
            fields = _tpv_fields(line)
            if fields is not None:
                self.bus.publish(GPS, fields)

    def _replay(self) -> None:
        try:
            lines = Path(self.nmea_file).read_text(errors="replace").splitlines()
        except OSError as exc:
            log.error("cannot read the NMEA file %s: %s", self.nmea_file, exc)
            return
        while not self._stop.is_set():
            if not self._replay_once(lines):
                log.error("the NMEA file %s holds no fix; GPS replay stops", self.nmea_file)
                return

    def _replay_once(self, lines: list[str]) -> bool:
        speed, published = None, False
        for line in lines:
            if self._stop.is_set() or not line.strip():
                continue
            try:
                fields = checked(line)
                if fields[0].endswith("RMC"):
                    speed = parse_rmc_speed(fields)
                fix = parse_gga(fields, line) if fields[0].endswith("GGA") else None
            except BadSentence as exc:
                self._skip(exc)
                continue
            if fix is not None:
                self.bus.publish(GPS, fix.fields(speed))
                published = True
                self._stop.wait(self.period)
        return published

    def _skip(self, exc: BadSentence) -> None:
        self.skipped += 1
        if self.skipped <= 3:
            log.warning("NMEA sentence skipped: %s", exc)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def _tpv_fields(line: str) -> dict[str, Any] | None:
    """Bus fields of a gpsd TPV report with a position, else None."""
    try:
        report = json.loads(line)
    except ValueError:
        return None
    if not isinstance(report, dict) or report.get("class") != "TPV" or "lat" not in report:
        return None
    return {"Latitude": report["lat"], "Longitude": report.get("lon"),
            "Altitude": report.get("alt"), "Speed": report.get("speed"),
            "SatelliteCount": None, "NMEA": None}
