"""Store and read the verdicts of validation gates; render them for people."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.artifacts.manifest import jsonable
from app.db import utcnow
from app.reports.exceptions import ReportNotFound
from app.reports.models import ValidationReport

NOTICE = (
    "This report is computed on the real data (the rows the engine was fitted on and the held-out rows) and"
    " is not differentially private. It is meant for the data owner and reviewers; do not pass it on with"
    " the synthetic data."
)


def store_report(
    *, session: Session, job_id: str, dataset_id: str, verdict: dict[str, Any], holdout: dict[str, Any]
) -> ValidationReport:
    """Keep a job's verdict (``Verdict.to_dict()``) with the lineage of its holdout split."""
    policy = verdict["policy"]
    report = ValidationReport(
        job_id=job_id,
        dataset_id=dataset_id,
        passed=bool(verdict["passed"]),
        decision=verdict["decision"],
        policy_name=policy["name"],
        policy_version=policy["version"],
        policy_digest=policy["digest"],
        failed_gates=list(verdict["failed_gates"]),
        report=jsonable({**verdict, "holdout": holdout}),
        created_at=utcnow(),
    )
    session.add(report)
    session.flush()
    return report


def find_report(*, session: Session, job_id: str) -> ValidationReport | None:
    return session.scalars(select(ValidationReport).where(ValidationReport.job_id == job_id)).one_or_none()


def get_report(*, session: Session, job_id: str, job_status: str) -> ValidationReport:
    """The job's report; ReportNotFound (naming the job's status) before its gates have run."""
    report = find_report(session=session, job_id=job_id)
    if report is None:
        raise ReportNotFound(
            f"job {job_id} has no validation report: it is {job_status}; reports exist once its gates have run"
            " (released or rejected jobs)",
            job_status=job_status,
        )
    return report


def summary(report: ValidationReport | None) -> dict[str, Any] | None:
    """passed, decision, message and the failed gates of a report (None without one)."""
    if report is None:
        return None
    doc = report.report
    return {
        "passed": report.passed,
        "decision": report.decision,
        "message": doc.get("message", ""),
        "failed_gates": list(report.failed_gates),
        "advisory_failures": list(doc.get("advisory_failures", [])),
    }


def render_html(report: ValidationReport, *, job_status: str) -> str:
    """The self-contained HTML page of a report (verdict, gates, plots, privacy-weight allocation)."""
    from app.validation import render_html as render

    doc = report.report
    holdout = doc.get("holdout") or {}
    split = (
        f"Real rows split {holdout.get('method', '?')} (fraction {holdout.get('fraction')}, seed {holdout.get('seed')},"
        f" stratified on {holdout.get('stratify') or 'nothing'}): held-out rows by index hash"
        f" {str(holdout.get('holdout_index_sha256', ''))[:16]}…; the engine never saw them."
    )
    title = f"Validation report: job {report.job_id} ({job_status})"
    return render(doc, title=title, notes=[NOTICE, split])
