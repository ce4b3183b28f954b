"""Measurement tools: the Tool base class, the run context and the registry."""

from vantagepoint.tools.base import ActionEnv, RunContext, Tool
from vantagepoint.tools.registry import ToolRegistry, load_tools

__all__ = ["ActionEnv", "RunContext", "Tool", "ToolRegistry", "load_tools"]
