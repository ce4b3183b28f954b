"""``log``: one warning line per alarm in the core's own log."""

from __future__ import annotations

import logging

from vantagepoint.core.alarms.notifiers import Notice, NotifierConfig

log = logging.getLogger("vantagepoint.alarms")


class LogNotifier:
    Config = NotifierConfig

    def __init__(self, name: str, config: NotifierConfig):
        self.name = name

    def notify(self, notice: Notice) -> None:
        log.warning("%s: value %g at %.3f", notice.subject(), notice.alarm["value"],
                    notice.alarm["ts"])
