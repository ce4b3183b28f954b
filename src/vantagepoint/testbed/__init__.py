"""A virtual testbed on one Linux host: nodes as network namespaces, links as veth pairs.

    from vantagepoint.testbed import Testbed

    links = {"links": {"n1": {"op1": {"delay_ms": 20}}}}
    with Testbed.up(nodes=2, interfaces=2, links=links) as tb:
        tb.wait_online()
        print(tb.run("n1", "ping", "-c", "3", tb.node("n2").interface("op1").address).stdout)

Needs root. See docs/testbed.md for the wiring and the addresses.
"""

from vantagepoint.testbed.bed import DEFAULT_RUN_DIR, Testbed, down, status
from vantagepoint.testbed.errors import NotRoot, TestbedError, require_root
from vantagepoint.testbed.impairment import Impairment
from vantagepoint.testbed.topology import (
    InterfacePlan,
    LinksFile,
    LinkSpec,
    NodePlan,
    Plan,
    load_links,
    plan,
)

__all__ = [
    "DEFAULT_RUN_DIR", "Impairment", "InterfacePlan", "LinkSpec", "LinksFile", "NodePlan",
    "NotRoot", "Plan", "Testbed", "TestbedError", "down", "load_links", "plan",
    "require_root", "status",
]
