"""Tool discovery through the ``vantagepoint.tools`` entry-point group.

The built-in tools are registered the same way as third-party ones. A plugin
that fails to load is kept with its error, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points

from vantagepoint.errors import NotFound
from vantagepoint.tools.base import Tool

GROUP = "vantagepoint.tools"


@dataclass
class ToolRegistry:
    """Loaded tool classes by (name, version), and the plugins that failed."""

    tools: dict[tuple[str, str], type[Tool]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, cls: type[Tool]) -> None:
        self.tools[(cls.name, cls.version)] = cls

    def get(self, name: str, version: str | None = None) -> type[Tool]:
        matches = [c for (n, v), c in self.tools.items() if n == name
                   and (version is None or v == version)]
        if not matches:
            raise NotFound(f"tool {name!r}{' ' + version if version else ''} is not installed")
        return max(matches, key=lambda c: c.version)

    def infos(self) -> list:
        return [cls.info() for cls in self.tools.values()]


def load_tools(group: str = GROUP) -> ToolRegistry:
    """Load every tool entry point, recording the ones that fail with their error."""
    registry = ToolRegistry()
    for ep in entry_points(group=group):
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Tool)):
                raise TypeError(f"{ep.value} is not a subclass of vantagepoint.tools.Tool")
            cls.info()  # metadata must be well formed
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
            registry.errors[ep.name] = f"{type(exc).__name__}: {exc}"
            continue
        registry.add(cls)
    return registry
