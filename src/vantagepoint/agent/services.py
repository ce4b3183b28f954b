"""The node's own services beside scheduled work: the metadata bus and its sources, the
stream recorder and uploader, the background ping and the watchdog over all of them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from vantagepoint.agent.background import Pinger
from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.diskspace import MB, low_space
from vantagepoint.agent.gps import Gps
from vantagepoint.agent.modems import Modems
from vantagepoint.agent.recorder import Recorder
from vantagepoint.agent.sensors import Sensors
from vantagepoint.agent.streams import StreamSpool, StreamUploader
from vantagepoint.agent.uploader import UploadStats
from vantagepoint.agent.watchdog import Check, Watchdog
from vantagepoint.bus.message import NODE_EVENT, PREFIX
from vantagepoint.bus.publisher import BusClosed, Publisher
from vantagepoint.config import AgentSettings

log = logging.getLogger(__name__)


class NodeServices:
    """Starts, checks, restarts and stops the node's services."""

    def __init__(self, settings: AgentSettings, client: CoreClient, spool_path,
                 running: Callable[[], list[int]], checks: list[Check] = ()):
        self.settings, self.client, self.running = settings, client, running
        self.stream = StreamSpool(spool_path, min_free_bytes=int(settings.min_free_disk_mb * MB))
        self.bus: Publisher | None = None
        self.recorder: Recorder | None = None
        self.uploader = self._uploader()
        target = settings.background_target
        self.pingers = [Pinger(name, device or None, target, settings.background_seconds,
                               self.stream)
                        for name, device in settings.interfaces.items()] if target else []
        self.sources: list[Any] = []
        self.unsent = 0  # messages lost while the bus was down
        self.published = 0  # messages put on the bus (the metrics)
        self.watchdog = Watchdog(self._checks() + list(checks), client, self.event,
                                 settings.watchdog_seconds, settings.watchdog_failures,
                                 settings.watchdog_window_seconds)

    @property
    def maintenance(self) -> str | None:
        """Why the node is in maintenance, or None."""
        return self.watchdog.maintenance

    def start(self) -> None:
        s = self.settings
        self._start_bus()
        self.sources = [Sensors(self, s.sensor_seconds, s.data_dir, self.running),
                        Modems(self, s.interfaces, s.modems, s.modem_seconds),
                        Gps(self, s.gpsd_address, s.gps_nmea_file, s.gps_seconds)]
        for service in [*self.sources, self.uploader, *self.pingers, self.watchdog]:
            service.start()
        self.event("Agent.Started", f"agent of node {s.name} started")

    def stop(self, deadline: float | None = None) -> None:
        """Stop everything; upload what is pending until ``deadline`` (monotonic)."""
        self.watchdog.stop(timeout=1.0)
        for service in [*self.sources, *self.pingers]:
            service.stop()
        self._stop_bus()
        self.uploader.stop(timeout=1.0)
        self.uploader.upload_pending(deadline=deadline, timeout=1.0)
        self.stream.close()

    def publish(self, topic: str, fields: dict[str, Any]) -> None:
        """Publish on the bus (sources call this; it survives a restart of the bus)."""
        try:
            if self.bus is None:
                raise BusClosed("the bus is not started")
            self.bus.publish(topic, fields)
            self.published += 1
        except BusClosed as exc:  # only while the bus restarts; said, not silent
            self.unsent += 1
            log.warning("bus message lost (%d so far): %s", self.unsent, exc)

    def event(self, kind: str, message: str) -> None:
        """A ``MONROE.META.NODE.EVENT`` (EventType, Message)."""
        try:
            self.publish(NODE_EVENT, {"EventType": kind, "Message": message})
        except Exception:  # noqa: BLE001 - an event lost to a broken bus is in the log too
            log.exception("node event %s not published", kind)

    # ---- the services the watchdog restarts --------------------------------

    def _start_bus(self) -> None:
        self.bus = Publisher(self.settings.bus_endpoint, self.settings.name)
        self.recorder = Recorder(self.settings.bus_endpoint, self.stream)
        self.recorder.start()
        if not self.bus.wait_subscriber(PREFIX):
            log.warning("the bus recorder did not subscribe in time")

    def _stop_bus(self) -> None:
        if self.bus is not None:
            self.bus.close()
        if self.recorder is not None:
            self.recorder.stop()

    def _restart_bus(self) -> None:
        self._stop_bus()
        self._start_bus()

    def _uploader(self, stats: UploadStats | None = None) -> StreamUploader:
        s = self.settings
        return StreamUploader(self.stream, self.client, s.upload_batch, s.upload_seconds, stats)

    def _restart_uploader(self) -> None:
        self.uploader.stop(timeout=1.0)
        self.uploader = self._uploader(self.uploader.stats)  # its counts go on
        self.uploader.start()

    def _checks(self) -> list[Check]:
        checks = [Check("bus", self._bus_problem, self._restart_bus),
                  Check("spool", self._spool_problem, self.stream.reopen),
                  Check("stream-uploader", self._uploader_problem, self._restart_uploader),
                  Check("disk", self._disk_problem, self._free_disk,
                        condition=("Disk.Full", "Disk.Ok"))]
        return checks + [Check(p.action, p.problem, p.restart) for p in self.pingers]

    def _bus_problem(self) -> str | None:
        if self.bus is None or self.bus.closed or self.recorder is None:
            return "the metadata bus is closed"
        if not self.recorder.alive:
            return "the bus recorder stopped"
        silent = time.monotonic() - self.recorder.last_message
        if silent > 3 * self.settings.sensor_seconds + 5:
            return f"the bus recorder heard nothing for {silent:.0f} s"
        return None

    def _spool_problem(self) -> str | None:
        self.stream.probe()
        return None

    def _uploader_problem(self) -> str | None:
        return None if self.uploader.alive else "the stream uploader stopped"

    def _disk_problem(self) -> str | None:
        return low_space(self.settings.data_dir, int(self.settings.min_free_disk_mb * MB))

    def _free_disk(self) -> None:
        purged = self.stream.purge_uploaded(time.time())  # the core has them
        if purged:
            log.warning("disk low: %d uploaded stream rows purged", purged)
