"""HTTP routes of validation reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.db import get_session
from app.jobs import service as jobs_service
from app.reports import service
from app.reports.schemas import GateRead, ReportPolicy, ReportRead

router = APIRouter(prefix="/jobs", tags=["reports"])

SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/{job_id}/report", response_model=ReportRead, name="get_job_report")
def get_job_report(job_id: str, session: SessionDep) -> ReportRead:
    """The job's validation verdict: every gate's value, threshold and outcome (404 before the gates ran)."""
    job = jobs_service.get_job(session=session, job_id=job_id)
    report = service.get_report(session=session, job_id=job.id, job_status=job.status)
    doc = report.report
    return ReportRead(
        job_id=job.id,
        dataset_id=job.dataset_id,
        job_status=job.status,
        passed=report.passed,
        decision=report.decision,
        message=doc["message"],
        failed_gates=doc["failed_gates"],
        advisory_failures=doc["advisory_failures"],
        skipped_gates=doc["skipped_gates"],
        policy=ReportPolicy.model_validate(doc["policy"]),
        gates=[GateRead.model_validate(g) for g in doc["gates"]],
        business=doc.get("business"),
        timings={"gates": doc.get("timings", {}), "job": job.timings or {}},
        rows=doc.get("rows", {}),
        holdout=doc.get("holdout", {}),
        metrics=doc.get("metrics", {}),
        warnings=doc.get("warnings", []),
        notice=service.NOTICE,
        created_at=report.created_at,
    )


@router.get(
    "/{job_id}/report.html",
    response_class=HTMLResponse,
    name="get_job_report_html",
    responses={200: {"content": {"text/html": {}}, "description": "A self-contained HTML page."}},
)
def get_job_report_html(job_id: str, session: SessionDep) -> HTMLResponse:
    """The validation report as one self-contained HTML page (verdict, gate table, plots)."""
    job = jobs_service.get_job(session=session, job_id=job_id)
    report = service.get_report(session=session, job_id=job.id, job_status=job.status)
    return HTMLResponse(service.render_html(report, job_status=job.status))
