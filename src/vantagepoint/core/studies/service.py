"""Studies: generate, validate and store every scenario, then schedule them back to back.

Creating a study is one transaction: every combination's scenario is validated
first (one bad combination refuses the study, naming it, with nothing stored),
then the scenarios, the study and its first run are stored and each scenario is
booked by the scheduler (first fit, each starting after the previous one ends).
A rerun books the same stored scenarios again as a new run, resolved as they
are then (a fixed shared task or action reaches every combination).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vantagepoint.config import CoreSettings
from vantagepoint.core.api.specs import save_spec, validated
from vantagepoint.core.catalog import StoreCatalog
from vantagepoint.core.scheduler.allocate import book, lock_scheduler, plan
from vantagepoint.core.scheduler.model import Policy
from vantagepoint.core.store.models import Study, StudyItem, StudyRun, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.core.studies.document import (
    Combination,
    StudyDoc,
    combinations,
    parse_study,
    scenario_name,
)
from vantagepoint.errors import Conflict, Invalid, NotFound, Problem, VantageError
from vantagepoint.spec.pointers import join
from vantagepoint.wire import ScheduleCreate


def create(db: Session, user: User, raw: object, settings: CoreSettings,
           policies: list[Policy]) -> Study:
    """Validate every combination, store them all, and schedule the first run."""
    doc = parse_study(raw)
    if find(db, user, doc.name) is not None:
        raise Conflict(f"study {doc.name!r} exists; rerun it, or give the new one another "
                       f"name")
    combos = combinations(doc)
    _validate_all(db, user, combos)
    for combo in combos:
        save_spec(db, user, "scenario", combo.scenario["name"], combo.scenario)
    study = Study(owner=user, name=doc.name, document=doc.model_dump(mode="json"))
    db.add(study)
    db.flush()
    schedule_run(db, user, study, settings, policies, start=doc.schedule.start)
    return study


def _validate_all(db: Session, user: User, combos: list[Combination]) -> None:
    """Every combination's problems, each under ``/combinations/<i>`` and named."""
    problems, bad = [], []
    catalog = StoreCatalog(db, user.id)
    for combo in combos:
        try:
            validated("scenario", combo.scenario, db, user, catalog=catalog)
        except Invalid as exc:
            bad.append(f"{combo.position} ({combo.label})")
            problems += [Problem(join("", "combinations", combo.position) + p.pointer,
                                 f"{combo.label}: {p.message}") for p in exc.problems]
    if problems:
        raise Invalid(f"{len(bad)} of {len(combos)} combinations are not valid, so nothing "
                      f"was stored: {'; '.join(bad[:5])}" + (" ..." if len(bad) > 5 else ""),
                      problems)


def rerun(db: Session, user: User, name: str, settings: CoreSettings,
          policies: list[Policy], start: datetime | None = None, note: str = "") -> StudyRun:
    """Book every combination of a stored study again, as its next run."""
    study = find(db, user, name)
    if study is None:
        raise NotFound(f"no study {name!r}")
    return schedule_run(db, user, study, settings, policies, start=start, note=note)


def schedule_run(db: Session, user: User, study: Study, settings: CoreSettings,
                 policies: list[Policy], start: datetime | None, note: str = "") -> StudyRun:
    """A new run whose combinations are booked one after another from ``start``."""
    doc = StudyDoc.model_validate(study.document)
    lock_scheduler(db)
    number = (db.scalar(select(func.max(StudyRun.number)).where(
        StudyRun.study_id == study.id)) or 0) + 1
    run = StudyRun(study=study, number=number, note=note)
    db.add(run)
    db.flush()
    at = start
    for combo in _stored_combinations(doc):
        at = _book_one(db, user, run, combo, doc, settings, policies, at)
    db.flush()
    return run


def _stored_combinations(doc: StudyDoc) -> list[Combination]:
    return [Combination(c.position, c.params, {"name": scenario_name(doc.name, c.position)})
            for c in combinations(doc)]


def _book_one(db: Session, user: User, run: StudyRun, combo: Combination, doc: StudyDoc,
              settings: CoreSettings, policies: list[Policy],
              start: datetime | None) -> datetime:
    """Book one combination at the first fit from ``start``; return where the next may start."""
    s = doc.schedule
    req = ScheduleCreate(scenario=combo.scenario["name"], mode="earliest", start=start,
                         duration=s.duration, nodes=s.nodes, filter=s.filter, count=s.count,
                         roles=s.roles)
    try:
        found = plan(db, user, req, settings, policies, utcnow())
    except VantageError as exc:
        raise type(exc)(f"combination {combo.position} ({combo.label}) of run {run.number} "
                        f"cannot be scheduled, so the run is refused: {exc.message}",
                        exc.problems) from exc
    schedule = book(db, user, req, found)
    db.add(StudyItem(run_id=run.id, position=combo.position, scenario_name=req.scenario,
                     params=combo.params, schedule_id=schedule.id))
    return found.spans[-1].end + timedelta(seconds=s.gap)


def find(db: Session, user: User, name: str) -> Study | None:
    return db.scalar(select(Study).where(Study.owner_id == user.id, Study.name == name))
