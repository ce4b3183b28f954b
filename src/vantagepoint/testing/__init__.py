"""Test helpers for tool plugin authors: the tool contract and an in-process runner."""

from __future__ import annotations

import os

from vantagepoint.testing.contract import ToolContract, contract_for, refusal, run_tool

__all__ = ["ToolContract", "contract_for", "refusal", "root_skip_reason", "run_tool"]


def root_skip_reason() -> str | None:
    """Why a test needing root should skip here; None as root or when CI=true."""
    if os.geteuid() == 0 or os.environ.get("CI") == "true":
        return None
    return "needs root (raw sockets, network namespaces); runs anyway when CI=true"
