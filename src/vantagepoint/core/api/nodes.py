"""The fleet: nodes and the tool catalog they advertise."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from vantagepoint.core import audit
from vantagepoint.core.api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep
from vantagepoint.core.catalog import is_online
from vantagepoint.core.store.models import Node
from vantagepoint.errors import NotFound
from vantagepoint.wire import Interface, NodeOut, NodeStatusSet, ToolOut

router = APIRouter(tags=["fleet"])


def node_out(node: Node, offline_after: float) -> NodeOut:
    online = is_online(node, offline_after)
    return NodeOut(
        name=node.name,
        interfaces=[Interface.model_validate(i) for i in node.interfaces],
        attributes=node.attributes,
        tools=[f"{t['name']}@{t['version']}" for t in node.tools],
        tool_errors=node.tool_errors,
        online=online,
        status=node.status,
        state="offline" if node.status == "active" and not online else node.status,
        clock_skew_ms=node.clock_skew_ms,
        last_seen=node.last_seen,
        registered_at=node.registered_at,
        agent_version=node.agent_version,
    )


@router.get("/nodes", summary="List nodes")
def list_nodes(db: SessionDep, settings: SettingsDep, _: CurrentUser) -> list[NodeOut]:
    """Every registered node with its interfaces, attributes, tools and liveness."""
    nodes = db.scalars(select(Node).order_by(Node.name))
    return [node_out(n, settings.node_offline_seconds) for n in nodes]


@router.get("/nodes/{name}", summary="One node")
def get_node(name: str, db: SessionDep, settings: SettingsDep, _: CurrentUser) -> NodeOut:
    """One node by name."""
    node = db.scalar(select(Node).where(Node.name == name))
    if node is None:
        raise NotFound(f"no node {name!r}")
    return node_out(node, settings.node_offline_seconds)


@router.patch("/nodes/{name}", summary="Set a node's status")
def set_status(name: str, body: NodeStatusSet, request: Request, db: SessionDep,
               settings: SettingsDep, admin: AdminUser) -> NodeOut:
    """Put a node in maintenance, disable it, or make it active again (admin only)."""
    node = db.scalar(select(Node).where(Node.name == name))
    if node is None:
        raise NotFound(f"no node {name!r}")
    before = node.status
    node.status, node.status_reason = body.status, body.reason
    audit.record(db, request, admin, "node.status", name, f"{before} -> {body.status}")
    return node_out(node, settings.node_offline_seconds)


@router.get("/tools", summary="Tool catalog")
def list_tools(db: SessionDep, _: CurrentUser) -> list[ToolOut]:
    """Every tool version some node offers, with the nodes that offer it."""
    catalog: dict[tuple[str, str], ToolOut] = {}
    for node in db.scalars(select(Node).order_by(Node.name)):
        for tool in node.tools:
            key = (tool["name"], tool["version"])
            entry = catalog.get(key)
            if entry is None:
                entry = catalog[key] = ToolOut(
                    name=tool["name"], version=tool["version"],
                    description=tool.get("description", ""),
                    config_schema=tool.get("config_schema", {}),
                    results=tool.get("results", []),
                    dynamic_results=tool.get("dynamic_results", False), nodes=[])
            entry.nodes.append(node.name)
    return [catalog[k] for k in sorted(catalog)]
