"""A test tool whose config picks its behaviour: count, refuse, raise, hang or crash."""

import os
import time

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools import Tool


class Probe(Tool):
    """Emits 1, 2, 3 ... every `every` seconds until its period ends."""

    name = "probe"
    version = "0.1"
    description = "Counts, or misbehaves on purpose."
    config_schema = {"type": "object"}
    results = [ResultSpec(name="count", type="integer")]

    def init(self, config, requested):
        if config.get("refuse"):
            raise ToolError(config["refuse"])
        if config.get("init_raises"):
            raise RuntimeError(config["init_raises"])
        self.config = config

    def run(self, ctx):
        cfg = self.config
        if cfg.get("crash") is not None:
            os._exit(int(cfg["crash"]))
        if cfg.get("hang"):
            time.sleep(3600)  # ignores ctx.stopping on purpose
        if cfg.get("bad"):
            ctx.emit("count", float("nan"))
            ctx.emit("count", object())
            ctx.emit("not a name!", 1)
        n = 0
        while not ctx.stopping:
            n += 1
            ctx.emit("count", n)
            if cfg.get("raises") and n == 3:
                raise RuntimeError(cfg["raises"])
            ctx.wait(cfg.get("every", 0.05))
        ctx.log(f"counted to {n}")
