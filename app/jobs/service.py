"""Job rules the API calls: validate a request, resolve its policy, reserve the budget and queue the job
(idempotently); look jobs up, find a dataset's current release, cancel.

Running a claimed job lives in :mod:`app.jobs.runner`, settling dead runners in :mod:`app.jobs.reaper`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import metrics
from app.canonical import canonical_json, sha256_hex
from app.config import Settings
from app.datasets import service as datasets_service
from app.db import after_commit, utcnow
from app.jobs import gating, holdout
from app.jobs.exceptions import (
    EngineNotAvailable,
    EngineNotDP,
    IdempotencyConflict,
    InvalidRareClass,
    InvalidValidationRoles,
    JobNotCancellable,
    JobNotFound,
    ModeNotSupported,
    NoRelease,
    PolicyModeMismatch,
    RowsAboveLimit,
)
from app.jobs.models import FINAL_STATUSES, Job
from app.jobs.schemas import JobCreate
from app.jobs.transitions import transition
from app.ledger import service as ledger_service
from app.ledger.exceptions import BudgetExhausted
from app.policies import service as policies_service

DP_ENGINE = "pwsim"


def available_engines() -> list[str]:
    """Engines this installation can run: ``pwsim`` plus the optional SDV engines if installed."""
    from app.engine import sdv_engines

    return [DP_ENGINE, *sdv_engines.available_engines()]


def engine_api():
    """The engine facade, imported on first use: the API process never loads numerical libraries."""
    from app.engine import api

    return api


def create_job(
    *,
    session: Session,
    settings: Settings,
    dispatcher: Any,
    request: JobCreate,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Validate, resolve the policy, reserve the budget and queue a job; returns (job, created).

    The same Idempotency-Key with the same body returns the first job (created=False); with a
    different body it raises IdempotencyConflict. Nothing is written when a check fails.
    """
    request_hash = sha256_hex(canonical_json(request.model_dump(mode="json")))
    if idempotency_key is not None:
        existing = _by_idempotency_key(session, idempotency_key, request_hash)
        if existing is not None:
            return existing, False

    dataset = datasets_service.get_active_dataset(session=session, dataset_id=request.dataset_id)
    mode = request.mode or settings.default_mode
    _check_engine(request, mode)
    rows = request.rows  # None: the engine samples a DP estimate of the fitted row count
    if (rows if rows is not None else dataset.rows) > settings.max_rows:
        raise RowsAboveLimit(
            f"rows must be at most {settings.max_rows}, got {rows}"
            if rows is not None
            else f"the dataset has more than {settings.max_rows} rows: ask for at most that many with 'rows'"
        )
    schema = datasets_service.schema_for(dataset)
    rare_class = _check_hybrid(request, mode, schema)
    roles = request.validation_roles.model_dump(exclude_none=True) if request.validation_roles else None
    try:
        gating.check_roles(schema, roles, rare_class)
    except gating.MetadataError as exc:
        raise InvalidValidationRoles(str(exc)) from None
    policy = _resolve_policy(session, request.policy, mode)
    delta = request.delta if request.delta is not None else ledger_service.budget_delta(session=session, dataset_id=dataset.id)
    epsilon, rho = _cost(session, request=request, dataset_id=dataset.id, delta=delta)

    job = Job(
        dataset_id=dataset.id,
        schema_version=dataset.current_schema_version,
        engine=request.engine,
        epsilon=epsilon,
        delta=delta,
        rho=rho,
        rows=rows,
        seed=request.seed,
        mode=mode,
        allow_non_dp=request.allow_non_dp,
        trust_inferred_domain=request.trust_inferred_domain,
        policy=policy.name,
        policy_version=policy.version,
        policy_digest=policy.digest,
        policy_snapshot={"resolved": policy.resolved, "lineage": policy.lineage},
        rare_class=rare_class,
        validation_roles=roles,
        status="queued",
        progress=0.0,
        timings={},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_at=utcnow(),
    )
    job.dispatched_at = job.created_at
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key committed first: answer with its job.
        existing = _by_idempotency_key(session, idempotency_key, request_hash) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    ledger_service.reserve(session=session, dataset_id=dataset.id, job_id=job.id, rho=rho, epsilon=epsilon, delta=delta)
    job_id = job.id
    after_commit(session, lambda: dispatcher.dispatch(job_id))
    after_commit(session, lambda: metrics.JOBS.labels(status="queued").inc())
    return job, True


def _check_engine(request: JobCreate, mode: str) -> None:
    """A known engine, installed, and DP unless the request allows otherwise (never in production)."""
    dp = request.engine == DP_ENGINE
    known = request.engine in engine_api().ENGINES  # the mode rules hold whether or not it is installed
    if not dp and known and mode == "production-substitute":
        raise EngineNotDP(
            f"production-substitute mode allows DP engines only ({DP_ENGINE}); {request.engine!r} gives no"
            " differential-privacy guarantee"
        )
    if not dp and known and mode == "hybrid-split":
        raise ModeNotSupported(
            f"hybrid-split samples rare-class replicates conditionally, which only the {DP_ENGINE} engine does"
        )
    if request.engine not in available_engines():
        raise EngineNotAvailable(f"engine {request.engine!r} is not installed here; available: {', '.join(available_engines())}")
    if not dp and not request.allow_non_dp:
        raise EngineNotDP(
            f"engine {request.engine!r} gives no differential-privacy guarantee; pass allow_non_dp: true to run it"
            " anyway, which spends the dataset's whole remaining budget"
        )
    if dp and request.allow_non_dp:
        raise EngineNotDP(f"allow_non_dp is for engines without a DP guarantee, not {DP_ENGINE!r}")


def _check_hybrid(request: JobCreate, mode: str, schema: Any) -> str | None:
    """hybrid-split replicates one class of a declared categorical target: check it is one."""
    if mode != "hybrid-split":
        if request.rare_class is not None:
            raise InvalidRareClass("rare_class is only used in hybrid-split mode")
        return None
    target = holdout.stratify_column(schema)
    if target is None or not schema.column(target).modeled:
        raise InvalidRareClass("hybrid-split needs a modeled categorical target declared in the dataset's schema")
    if request.rare_class is None:
        raise InvalidRareClass(f"hybrid-split needs rare_class: the class of target {target!r} to replicate")
    domain = schema.column(target).domain
    categories = [str(c) for c in domain.categories] if domain is not None and domain.categories else None
    if categories is not None and request.rare_class not in categories:
        raise InvalidRareClass(f"{request.rare_class!r} is not a class of target {target!r} (one of: {', '.join(categories)})")
    return request.rare_class


def _resolve_policy(session: Session, reference: str | None, mode: str) -> policies_service.ResolvedPolicy:
    """The job's policy: the one named, or the mode's default; it must suit the mode."""
    if reference is None:
        return policies_service.default_for_mode(session=session, mode=mode)
    policy = policies_service.resolve(session=session, reference=reference)
    if mode == "production-substitute" and policy.mode != "production-substitute":
        raise PolicyModeMismatch(
            f"production-substitute jobs need a policy written for that mode (one that extends"
            f" production-substitute); {policy.reference} is for {policy.mode or 'any mode'}"
        )
    if policy.mode is not None and policy.mode != mode:
        raise PolicyModeMismatch(f"policy {policy.reference} is written for {policy.mode} mode, the job is {mode}")
    return policy


def _cost(session: Session, *, request: JobCreate, dataset_id: str, delta: float) -> tuple[float, float]:
    """(epsilon, rho) the job reserves. A non-DP engine has no finite privacy cost, so it takes
    everything that remains (it runs only with allow_non_dp, checked before)."""
    if request.engine == DP_ENGINE:
        return request.epsilon, ledger_service.to_rho(epsilon=request.epsilon, delta=delta)
    left = ledger_service.remaining(session=session, dataset_id=dataset_id)
    if left["rho"] <= 0:
        raise BudgetExhausted("nothing remains of the budget", remaining=left)
    return left["epsilon"], left["rho"]


def _by_idempotency_key(session: Session, key: str, request_hash: str) -> Job | None:
    job = session.scalars(select(Job).where(Job.idempotency_key == key)).first()
    if job is not None and job.request_hash != request_hash:
        raise IdempotencyConflict("this Idempotency-Key was already used with a different request body")
    return job


def get_job(*, session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise JobNotFound(f"no job with id {job_id}")
    return job


def list_jobs(*, session: Session, dataset_id: str | None, status: str | None, limit: int, offset: int) -> tuple[list[Job], int]:
    query = select(Job)
    if dataset_id is not None:
        query = query.where(Job.dataset_id == dataset_id)
    if status is not None:
        query = query.where(Job.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset))
    return list(items), total


def current_release(*, session: Session, dataset_id: str) -> Job:
    """The dataset's current release: its newest (by request) job that passed its gates and was released.

    It only ever moves forward to a released job: a rejected, failed or cancelled job never becomes
    current, so a later release that fails its gates leaves the previous one in place.
    """
    job = session.scalars(
        select(Job)
        .where(Job.dataset_id == dataset_id, Job.status == "released")
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(1)
    ).first()
    if job is None:
        raise NoRelease(f"dataset {dataset_id} has no released job yet")
    return job


def cancel_job(*, session: Session, job_id: str) -> Job:
    """Cancel a queued job at once (its reservation is released); ask a running one to stop."""
    job = get_job(session=session, job_id=job_id)
    if job.status == "cancelled":
        return job
    if job.status in FINAL_STATUSES:
        raise JobNotCancellable(f"job {job_id} already finished with status {job.status}")
    if transition(session, job_id, ("queued",), "cancelled", finished_at=utcnow(), cancel_requested=True):
        ledger_service.release(session=session, job_id=job_id, reason="cancelled before start")
        after_commit(session, lambda: metrics.JOBS.labels(status="cancelled").inc())
    else:  # running or validating: the runner stops at its next progress report
        session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    return get_job(session=session, job_id=job_id)
