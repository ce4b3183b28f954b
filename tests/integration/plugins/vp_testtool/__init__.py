"""A third-party tool package, found only through its entry point."""

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools import Tool


class Counter(Tool):
    """Emits 1, 2, 3, ... every `every` seconds; refuses `fail: true` at init."""

    name = "counter"
    version = "0.1"
    description = "Counts; a plugin from outside the vantagepoint package."
    config_schema = {
        "type": "object", "additionalProperties": False,
        "properties": {"every": {"type": "number", "exclusiveMinimum": 0},
                       "fail": {"type": "boolean"}},
    }
    results = [ResultSpec(name="count", type="integer")]

    def init(self, config, requested):
        if config.get("fail"):
            raise ToolError("told to fail at init")
        self.every = config.get("every", 0.2)

    def run(self, ctx):
        n = 0
        while not ctx.stopping:
            n += 1
            ctx.emit("count", n)
            ctx.wait(self.every)
