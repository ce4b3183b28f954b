"""Scenarios, tasks and actions: stored per owner, validated against the live fleet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select

from vantagepoint.core.alarms.notifiers import check_notify
from vantagepoint.core.api.deps import CurrentUser, SchedulerUser, SessionDep
from vantagepoint.core.catalog import StoreCatalog, find_spec
from vantagepoint.core.plugins import check_action_uses, check_scenario_uses, check_task_uses
from vantagepoint.core.store.models import Spec
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Invalid, NotFound, Problem
from vantagepoint.spec.validate import resolve_scenario, validate_action, validate_task
from vantagepoint.wire import StoredSpec

KINDS = {"scenarios": "scenario", "tasks": "task", "actions": "action"}
VALIDATORS = {"scenario": resolve_scenario, "task": validate_task, "action": validate_action}
PLUGIN_CHECKS = {"scenario": check_scenario_uses, "task": check_task_uses,
                 "action": lambda spec: check_action_uses(spec, "")}



def stored_out(row: Spec) -> StoredSpec:
    return StoredSpec(kind=row.kind, name=row.name, version=row.version, owner=row.owner.name,
                      spec=row.spec, created_at=row.created_at, updated_at=row.updated_at)


def validated(kind: str, doc: Any, db, user, notifiers=None,
              catalog: StoreCatalog | None = None) -> dict[str, Any]:
    """The spec in canonical form, or Invalid with every problem found (``catalog``: one
    to reuse across many specs, so the fleet is read once)."""
    spec = VALIDATORS[kind](doc, catalog or StoreCatalog(db, user.id))
    if notifiers is not None and kind == "scenario":
        check_notify(spec.notify, notifiers)
    problems = PLUGIN_CHECKS[kind](spec)
    if problems:
        raise Invalid(f"the {kind} names plugins wrongly", problems)
    return spec.model_dump(mode="json", exclude_defaults=True)


def make_router(kinds: str) -> APIRouter:
    """The routes of one collection: scenarios, tasks or actions."""
    kind = KINDS[kinds]
    router = APIRouter(prefix=f"/{kinds}", tags=[kinds])

    @router.post("/validate", summary=f"Validate a {kind} without storing it")
    def validate(request: Request, db: SessionDep, user: CurrentUser,
                 doc: Any = Body(...)) -> dict[str, Any]:
        """Check the spec against the fleet; 422 lists every problem at once."""
        names = getattr(request.app.state, "notifier_names", None)
        return {"valid": True, "resolved": validated(kind, doc, db, user, names)}

    @router.put("/{name}", summary=f"Create or replace a {kind}")
    def put_spec(name: str, request: Request, db: SessionDep, user: SchedulerUser,
                 doc: Any = Body(...)) -> StoredSpec:
        """Store a spec (validated); a changed spec becomes a new version."""
        names = getattr(request.app.state, "notifier_names", None)
        return stored_out(store_spec(db, user, kind, name, doc, names))

    @router.get("", summary=f"List {kinds}")
    def list_specs(db: SessionDep, user: CurrentUser) -> list[StoredSpec]:
        """Your stored specs (admin: everyone's)."""
        return list_stored(db, user, kind)

    @router.get("/{name}", summary=f"One {kind}")
    def get_spec(name: str, db: SessionDep, user: CurrentUser) -> StoredSpec:
        """One of your stored specs by name."""
        return get_stored(db, user, kind, name)

    @router.delete("/{name}", status_code=204, summary=f"Delete a {kind}")
    def delete_spec(name: str, db: SessionDep, user: SchedulerUser) -> None:
        """Delete one of your specs; executions keep their own snapshots."""
        db.delete(_own(db, kind, user, name))

    return router


def store_spec(db, user, kind: str, name: str, doc: Any, notifiers=None) -> Spec:
    """Validate and store; nothing is written when anything is wrong."""
    if isinstance(doc, dict) and doc.get("name") != name:
        raise Invalid("the spec's name must match the path",
                      [Problem("/name", f"expected {name!r}, got {doc.get('name')!r}")])
    validated(kind, doc, db, user, notifiers)
    return save_spec(db, user, kind, name, doc)


def save_spec(db, user, kind: str, name: str, doc: dict[str, Any]) -> Spec:
    """Store a spec already validated: new, or a new version when it changed."""
    row = find_spec(db, kind, user.id, name)
    if row is None:
        row = Spec(kind=kind, owner=user, name=name, spec=doc, version=1)
        db.add(row)
    elif row.spec != doc:
        row.spec, row.version, row.updated_at = doc, row.version + 1, utcnow()
    db.flush()
    return row


routers = [make_router(kinds) for kinds in KINDS]


def list_stored(db, user, kind: str) -> list[StoredSpec]:
    """The stored specs of one kind the user may see (admin: everyone's)."""
    query = select(Spec).where(Spec.kind == kind).order_by(Spec.name)
    if not user.is_admin:
        query = query.where(Spec.owner_id == user.id)
    return [stored_out(r) for r in db.scalars(query)]


def get_stored(db, user, kind: str, name: str) -> StoredSpec:
    """One of the user's stored specs by name."""
    return stored_out(_own(db, kind, user, name))


def _own(db, kind: str, user, name: str) -> Spec:
    row = find_spec(db, kind, user.id, name)
    if row is None:
        raise NotFound(f"no {kind} {name!r}")
    return row
