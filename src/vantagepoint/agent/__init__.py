"""The node agent: registers, heartbeats, runs its assignments' actions, uploads results."""

from vantagepoint.agent.loop import Agent
from vantagepoint.agent.main import run_agent

__all__ = ["Agent", "run_agent"]
