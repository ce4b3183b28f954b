"""Which results a query covers: filters, the caller's visibility, and group-by keys.

A group key names a dimension a statistic may be split by. ``node``, ``action``
and ``execution`` are result columns; ``interface`` comes from the frozen
snapshot of each execution (an action's ``interface``); ``param:<name>`` is a
study parameter and is resolved by ``param_column`` alone, so adding it when
executions carry their study parameters is one change in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, String, case, cast, func, literal, null, select
from sqlalchemy.orm import Session

from vantagepoint.core.store.models import Execution, Result, User
from vantagepoint.errors import Invalid, Problem

COLUMN_KEYS = {"node": Result.node_name, "action": Result.action,
               "execution": Result.execution_id}
PARAM_PREFIX = "param:"
PARAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_GROUP_KEYS = 4


@dataclass(frozen=True)
class Selection:
    """Results of one name (or all names), filtered, as one caller may see them."""

    name: str | None
    execution: int | None = None
    node: str | None = None
    action: str | None = None
    since: float | None = None
    until: float | None = None
    owner_id: int | None = None  # None: an admin, who sees everything

    @classmethod
    def for_user(cls, user: User, **filters) -> Selection:
        """The filters, restricted to the user's own executions unless an admin asks."""
        return cls(owner_id=None if user.is_admin else user.id, **filters)

    def named(self, name: str | None) -> Selection:
        return replace(self, name=name)

    def where(self, numeric: bool = False, model=Result) -> list[ColumnElement[bool]]:
        """The WHERE clauses on results (or logs: ``model=LogEntry``, which have no name);
        ``numeric`` keeps only results with a number."""
        clauses = [column == value for column, value in (
            (getattr(model, "name", None), self.name), (model.execution_id, self.execution),
            (model.node_name, self.node), (model.action, self.action)) if value is not None]
        if self.since is not None:
            clauses.append(model.ts >= self.since)
        if self.until is not None:
            clauses.append(model.ts < self.until)
        if self.owner_id is not None:
            clauses.append(model.execution_id.in_(
                select(Execution.id).where(Execution.owner_id == self.owner_id)))
        if numeric:
            clauses.append(model.value_num.is_not(None))
        return clauses


def parse_group_keys(keys: list[str]) -> list[str]:
    """Split comma lists, drop repeats and check every key; Invalid names the bad one."""
    found: list[str] = []
    for part in (p.strip() for key in keys for p in key.split(",")):
        if part and part not in found:
            found.append(part)
    problems = [Problem("query:by", f"unknown group key {key!r}; use node, interface, "
                                    "action, execution or param:<name>")
                for key in found if not _known(key)]
    if len(found) > MAX_GROUP_KEYS:
        problems.append(Problem("query:by", f"at most {MAX_GROUP_KEYS} group keys"))
    if problems:
        raise Invalid("cannot group results like that", problems)
    return found


def _known(key: str) -> bool:
    if key.startswith(PARAM_PREFIX):
        return bool(PARAM_NAME.match(key.removeprefix(PARAM_PREFIX)))
    return key in COLUMN_KEYS or key == "interface"


def group_columns(db: Session, sel: Selection, keys: list[str]) -> list[ColumnElement]:
    """One labelled SQL expression per group key, in order (labels g0, g1, ...)."""
    return [group_column(db, sel, key).label(f"g{i}") for i, key in enumerate(keys)]


def group_column(db: Session, sel: Selection, key: str) -> ColumnElement:
    if key in COLUMN_KEYS:
        return COLUMN_KEYS[key]
    if key == "interface":
        return interface_column(db, sel)
    return param_column(db, key.removeprefix(PARAM_PREFIX))


def param_column(db: Session, name: str) -> ColumnElement:
    """A study parameter of each result's execution (its ``study_params``), as text.

    On SQLite the JSON path is spelled out: the plain runner (plain.py) sends bound
    values as they are, without the JSON type's path formatting.
    """
    if db.get_bind().dialect.name == "sqlite":
        value = cast(func.json_extract(Execution.study_params, literal(f'$."{name}"')),
                     String)
    else:
        value = Execution.study_params[name].as_string()
    return select(value).where(Execution.id == Result.execution_id).scalar_subquery()


def interface_column(db: Session, sel: Selection) -> ColumnElement:
    """Each result's measurement interface, from its execution's snapshot (NULL if none)."""
    ids = db.scalars(select(Result.execution_id).where(*sel.where()).distinct()).all()
    by_execution: dict[int, dict[str, str]] = {}
    for ex_id, snapshot in db.execute(select(Execution.id, Execution.snapshot)
                                      .where(Execution.id.in_(ids))):
        names = {a["name"]: a["interface"] for t in snapshot.get("tasks", [])
                 for a in t.get("actions", []) if a.get("interface")}
        if names:
            by_execution[ex_id] = names
    if not by_execution:
        return null()
    # Nested CASE: the execution picks the action map, the action picks the interface.
    return case({ex_id: case(names, value=Result.action, else_=null())
                 for ex_id, names in by_execution.items()},
                value=Result.execution_id, else_=literal(None))
