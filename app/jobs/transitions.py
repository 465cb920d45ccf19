"""The guarded status machine shared by the service, the runner and the reaper.

A job's status only moves with a guarded UPDATE: the move happens only if the job is still where the
mover expects it (status, attempt, lease), so a runner, a reaper and a cancellation can race safely.

Budget handling follows one rule everywhere: until the engine reports a stage in ``NOISE_STAGES``
the reservation is released on failure; from then on the privacy cost was paid and it is charged,
whatever happens next. The ledger's unique (job_id, kind) key makes settling twice impossible.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.jobs.models import Job
from app.ledger import service as ledger_service


def transition(session: Session, job_id: str, from_statuses: tuple[str, ...], to: str, **values: Any) -> bool:
    """Move a job only if it is still in one of ``from_statuses`` (and matches extra guards)."""
    guards = values.pop("_guards", ())
    row = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(from_statuses), *guards)
        .values(status=to, **values)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def settle(session: Session, job_id: str, *, charge: bool, reason: str) -> None:
    """Turn a finished job's reservation into a charge (noise was drawn) or release it (none was)."""
    if charge:
        ledger_service.charge(session=session, job_id=job_id, reason=reason)
    else:
        ledger_service.release(session=session, job_id=job_id, reason=reason)
