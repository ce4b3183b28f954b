"""Studies: create one from a study file, follow its runs, and rerun it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select

from vantagepoint.core.api.deps import CurrentUser, SchedulerUser, SessionDep, SettingsDep
from vantagepoint.core.store.models import Booking, Execution, Study, StudyRun
from vantagepoint.core.studies import service
from vantagepoint.errors import NotFound
from vantagepoint.wire import StudyItemOut, StudyOut, StudyRunCreate, StudyRunOut

router = APIRouter(prefix="/studies", tags=["studies"])


@router.post("", status_code=201, summary="Create a study")
def create_study(request: Request, db: SessionDep, settings: SettingsDep, user: SchedulerUser,
                 doc: Any = Body(...)) -> StudyOut:
    """Generate a scenario per combination, validate all, store all and schedule them back
    to back; one bad combination refuses the whole study (422/409), storing nothing."""
    study = service.create(db, user, doc, settings, request.app.state.policies)
    return study_out(db, study)


@router.get("", summary="List studies")
def list_studies(db: SessionDep, user: CurrentUser) -> list[StudyOut]:
    """Your studies (admin: everyone's), by name."""
    query = select(Study).order_by(Study.name)
    if not user.is_admin:
        query = query.where(Study.owner_id == user.id)
    return [study_out(db, s) for s in db.scalars(query)]


@router.get("/{name}", summary="One study and its runs")
def get_study(name: str, db: SessionDep, user: CurrentUser) -> StudyOut:
    """Every run with each combination's parameters, slot and execution state."""
    return study_out(db, _own(db, user, name))


@router.post("/{name}/runs", status_code=201, summary="Rerun a study")
def rerun_study(name: str, body: StudyRunCreate, request: Request, db: SessionDep,
                settings: SettingsDep, user: SchedulerUser) -> StudyRunOut:
    """Schedule every combination again as a new run; earlier runs stay as they are."""
    run = service.rerun(db, user, name, settings, request.app.state.policies,
                        start=body.start, note=body.note)
    return run_out(db, run)


def _own(db, user, name: str) -> Study:
    study = service.find(db, user, name)
    if study is None:
        raise NotFound(f"no study {name!r}")
    return study


def study_out(db, study: Study) -> StudyOut:
    doc = study.document
    combinations = 1
    for values in doc["parameters"].values():
        combinations *= len(values)
    return StudyOut(name=study.name, owner=study.owner.name,
                    description=doc.get("description", ""), parameters=doc["parameters"],
                    combinations=combinations, created_at=study.created_at,
                    runs=[run_out(db, r) for r in study.runs])


def run_out(db, run: StudyRun) -> StudyRunOut:
    ids = [item.schedule_id for item in run.items]
    bookings: dict[int, list[Booking]] = {}
    for b in db.scalars(select(Booking).where(Booking.schedule_id.in_(ids))):
        bookings.setdefault(b.schedule_id, []).append(b)
    executions = {b.execution_id for bs in bookings.values() for b in bs if b.execution_id}
    states = dict(db.execute(select(Execution.id, Execution.state)
                             .where(Execution.id.in_(executions))).all()) if executions else {}
    items = [_item_out(item, bookings.get(item.schedule_id, []), states) for item in run.items]
    return StudyRunOut(number=run.number, note=run.note, created_at=run.created_at,
                       states=dict(Counter(i.state for i in items)), items=items)


def _item_out(item, bookings: list[Booking], states: dict[int, str]) -> StudyItemOut:
    execution = next((b.execution_id for b in bookings if b.execution_id), None)
    state = states.get(execution) if execution else (bookings[0].state if bookings else "none")
    return StudyItemOut(position=item.position, params=item.params,
                        scenario=item.scenario_name, schedule=item.schedule_id,
                        start=min((b.start for b in bookings), default=None),
                        end=max((b.end for b in bookings), default=None),
                        execution=execution, state=state)
