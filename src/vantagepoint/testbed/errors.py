"""Errors of the virtual testbed.

    TestbedError          a step failed; the message names the command and its output
    └── NotRoot           the caller is not root (namespaces, veth, bridges and tc need it)
"""

from __future__ import annotations

import os


class TestbedError(Exception):
    """The testbed could not be built, started or removed; the message says why."""

    __test__ = False  # not a pytest test class, whatever its name


class NotRoot(TestbedError):
    """The virtual testbed needs root."""


def require_root() -> None:
    """Raise NotRoot unless this process runs as root."""
    if os.geteuid() != 0:
        raise NotRoot("the virtual testbed needs root (network namespaces, veth pairs, "
                      "bridges and tc); run it as root, e.g. `sudo vantage testbed up`")
