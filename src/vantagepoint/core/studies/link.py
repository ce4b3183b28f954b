"""An execution made from a study's schedule carries its study, run and parameters."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.store.models import Execution, StudyItem, StudyRun


def attach_study(db: Session, ex: Execution) -> None:
    """Copy the study, run number and parameter values of the execution's schedule."""
    if ex.schedule_id is None:
        return
    row = db.execute(select(StudyItem, StudyRun).join(StudyRun, StudyRun.id == StudyItem.run_id)
                     .where(StudyItem.schedule_id == ex.schedule_id)).first()
    if row is not None:
        item, run = row
        ex.study_id, ex.study_run, ex.study_params = run.study_id, run.number, item.params
