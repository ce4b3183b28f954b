"""``command``: run a program per alarm (no shell), the alarm as JSON on its stdin.

Configured only in the core's settings (by its operator), never in a scenario:
the program runs as the core's user. It also gets VP_ALARM_* variables.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Literal

from pydantic import Field

from vantagepoint.core.alarms.notifiers import Notice, NotifierConfig


class CommandConfig(NotifierConfig):
    kind: Literal["command"]
    argv: list[str] = Field(min_length=1)
    timeout: float = Field(30.0, gt=0, le=600)


class CommandNotifier:
    Config = CommandConfig

    def __init__(self, name: str, config: CommandConfig):
        self.name, self.config = name, config

    def notify(self, notice: Notice) -> None:
        a = notice.alarm
        env = {**os.environ, "VP_ALARM_ID": str(a["id"]), "VP_ALARM_NODE": a["node"],
               "VP_ALARM_CONDITION": a["condition"], "VP_ALARM_VALUE": repr(a["value"]),
               "VP_ALARM_EXECUTION": str(a["execution"]), "VP_ALARM_ACTION": a["action"]}
        done = subprocess.run(self.config.argv, input=json.dumps(notice.payload()), text=True,
                              env=env, capture_output=True, timeout=self.config.timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{self.config.argv[0]} exited with {done.returncode}: "
                               f"{done.stderr.strip()[-500:]}")
