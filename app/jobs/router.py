"""HTTP routes of jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from sqlalchemy.orm import Session

from app.artifacts import service as artifacts_service
from app.db import get_session
from app.jobs import service
from app.jobs.models import Job
from app.jobs.schemas import JobBudget, JobCreate, JobError, JobList, JobPolicy, JobRead, JobStatus
from app.ledger import service as ledger_service
from app.reports import service as reports_service
from app.reports.schemas import VerdictSummary

router = APIRouter(prefix="/jobs", tags=["jobs"])

SessionDep = Annotated[Session, Depends(get_session)]


def to_read(session: Session, job: Job) -> JobRead:
    artifact = artifacts_service.artifact_for_job(session=session, job_id=job.id)
    verdict = reports_service.summary(reports_service.find_report(session=session, job_id=job.id))
    return JobRead(
        id=job.id,
        dataset_id=job.dataset_id,
        schema_version=job.schema_version,
        engine=job.engine,
        epsilon=job.epsilon,
        delta=job.delta,
        rho=job.rho,
        rows=job.rows,
        seed=job.seed,
        mode=job.mode,
        allow_non_dp=job.allow_non_dp,
        trust_inferred_domain=job.trust_inferred_domain,
        rare_class=job.rare_class,
        validation_roles=job.validation_roles,
        policy=JobPolicy.of(job),
        status=job.status,
        progress=job.progress,
        stage=job.stage,
        cancel_requested=job.cancel_requested,
        attempts=job.attempts,
        budget=JobBudget(**ledger_service.job_budget(session=session, job_id=job.id)),
        error=JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None,
        verdict=VerdictSummary.model_validate(verdict) if verdict else None,
        artifact_id=artifact.id if artifact else None,
        holdout=job.lineage,
        timings=job.timings or {},
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobRead,
    name="create_job",
    responses={200: {"model": JobRead, "description": "An earlier job with the same Idempotency-Key."}},
)
def create_job(
    body: JobCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobRead:
    """Reserve the privacy budget and queue a synthesis job (poll the Location for its status)."""
    job, created = service.create_job(
        session=session,
        settings=request.app.state.settings,
        dispatcher=request.app.state.dispatcher,
        request=body,
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = str(request.url_for("get_job", job_id=job.id).path)
    if not created:
        response.status_code = status.HTTP_200_OK
    return to_read(session, job)


@router.get("", response_model=JobList, name="list_jobs")
def list_jobs(
    session: SessionDep,
    dataset_id: str | None = None,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobList:
    """List jobs, newest first, optionally by dataset and status."""
    items, total = service.list_jobs(session=session, dataset_id=dataset_id, status=status, limit=limit, offset=offset)
    return JobList(items=[to_read(session, j) for j in items], total=total, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobRead, name="get_job")
def get_job(job_id: str, session: SessionDep) -> JobRead:
    """A job's status, progress, timings, budget and error."""
    return to_read(session, service.get_job(session=session, job_id=job_id))


@router.post("/{job_id}/cancel", response_model=JobRead, status_code=status.HTTP_202_ACCEPTED, name="cancel_job")
def cancel_job(job_id: str, session: SessionDep) -> JobRead:
    """Cancel a job: a queued one at once, a running one at its next progress report."""
    return to_read(session, service.cancel_job(session=session, job_id=job_id))
