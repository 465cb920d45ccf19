"""The runner: executes one claimed job, the same code for the in-process pool and the Celery worker.

``run_job`` claims a queued job (queued -> running), then runs split -> engine -> gates -> store while
a heartbeat keeps its lease alive and the engine's progress callback records progress, cancellation
and the moment noise is first drawn. Until then a failure releases the reservation; after it, the
budget is charged (see :mod:`app.jobs.transitions`).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app import metrics
from app.artifacts import service as artifacts_service
from app.config import Settings
from app.datasets import service as datasets_service
from app.db import session_scope, utcnow
from app.engine import errors as engine_errors
from app.errors import AppError
from app.jobs import gating, holdout
from app.jobs.models import Job
from app.jobs.service import engine_api, get_job
from app.jobs.transitions import settle, transition
from app.ledger import service as ledger_service
from app.policies import service as policies_service
from app.reports import service as reports_service

log = logging.getLogger(__name__)

ENGINE_PROGRESS_SHARE = 90.0  # percent of the bar the split and engine fill; the gates and storing do the rest
PROGRESS_WRITE_SECONDS = 1.0


class JobCancelled(Exception):
    """Raised inside the engine's progress callback when the job was cancelled."""


class JobLost(Exception):
    """Raised when this runner no longer owns the job (the reaper re-queued or failed it)."""


class _Runner:
    """Keeps a claimed job's row current while the engine runs: progress, lease and noise flag."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, job_id: str, attempt: int) -> None:
        self.factory, self.settings, self.job_id, self.attempt = factory, settings, job_id, attempt
        self.noise_drawn = False
        self.noise_stages: frozenset[str] = frozenset()
        self.cancelled = False
        self.lost = False
        self._stage: str | None = None
        self._last_write = 0.0
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"pwsim-heartbeat-{job_id[:8]}", daemon=True)

    @property
    def mine(self) -> tuple[Any, ...]:
        return (Job.attempts == self.attempt,)

    def _lease(self) -> dict[str, Any]:
        now = utcnow()
        return {
            "heartbeat_at": now,
            "lease_expires_at": now + timedelta(seconds=self.settings.job_lease_seconds),
        }

    def _write(self, **values: Any) -> None:
        with session_scope(self.factory) as session:
            row = session.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status.in_(("running", "validating")), *self.mine)
                .values(**values, **self._lease())
                .returning(Job.cancel_requested)
                .execution_options(synchronize_session=False)
            ).first()
        if row is None:
            self.lost = True
        elif row.cancel_requested:
            self.cancelled = True

    def progress(self, fraction: float, stage: str) -> None:
        """The engine's progress callback."""
        new_stage = stage != self._stage
        values: dict[str, Any] = {
            "progress": round(max(0.0, min(1.0, float(fraction))) * ENGINE_PROGRESS_SHARE, 2),
            "stage": stage,
        }
        if stage in self.noise_stages and not self.noise_drawn:
            # Committed before the engine draws noise in this stage, so a crash right after it
            # can never make the reaper re-run the job for free.
            self.noise_drawn = True
            values["noise_drawn"] = True
        now = time.monotonic()
        if new_stage or "noise_drawn" in values or now - self._last_write >= PROGRESS_WRITE_SECONDS:
            self._stage, self._last_write = stage, now
            self._write(**values)
        if self.lost:
            raise JobLost(self.job_id)
        if self.cancelled:
            raise JobCancelled(self.job_id)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_seconds):
            try:
                self._write()
            except Exception:  # a missed beat is retried; the lease is longer than a beat
                log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)

    def __enter__(self) -> _Runner:
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._beat.join(timeout=5)


@dataclass(frozen=True)
class _Attempt:
    """One run of a claimed job: what every stage of split -> engine -> gates -> store needs."""

    factory: sessionmaker[Session]
    settings: Settings
    signer: Any
    runner: _Runner
    job_id: str
    number: int  # the job's attempt counter after the claim: every write of this run is guarded by it
    params: dict[str, Any]
    spec: dict[str, Any]
    work_dir: Path
    t0: float
    timings: dict[str, Any]

    def fail(self, code: str, message: str, *, status: str = "failed") -> str | None:
        """Finish the job as failed (or cancelled): its budget is charged once noise was drawn, else released."""
        charge = self.runner.noise_drawn
        self.timings["total_s"] = round(time.monotonic() - self.t0, 3)
        return _finish_failed(
            self.factory,
            self.job_id,
            self.number,
            status=status,
            code=code,
            message=message,
            charge=charge,
            timings=self.timings,
        )

    def stopped(self, exc: Exception) -> str | None:
        """The progress callback stopped the run: lost to the reaper (leave the job), or cancelled."""
        if isinstance(exc, JobLost):
            log.warning("job %s: lost its lease to the reaper; stopping", self.job_id)
            return None
        return self.fail("cancelled", "cancelled by request", status="cancelled")

    def record(self, **values: Any) -> None:
        """Write facts about this run (e.g. the split's lineage) while the runner still owns the job."""
        with session_scope(self.factory) as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.attempts == self.number)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def after_lost_or_cancelled(self) -> str | None:
        """A guarded move found the job elsewhere: finish it as cancelled if it is still ours, else stop."""
        with session_scope(self.factory) as session:
            job = get_job(session=session, job_id=self.job_id)
            mine = job.attempts == self.number and job.status in ("running", "validating")
            cancelled = job.cancel_requested
        if mine and cancelled:
            return self.fail("cancelled", "cancelled by request", status="cancelled")
        log.warning("job %s: no longer owned by this runner; stopping", self.job_id)
        return None


def claim(*, session: Session, job_id: str, worker: str, settings: Settings) -> int | None:
    """Move a job queued -> running; return this run's attempt number, or None if it was not queued."""
    now = utcnow()
    row = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.cancel_requested.is_(False))
        .values(
            status="running",
            attempts=Job.attempts + 1,
            worker=worker[:200],
            started_at=now,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            stage=None,
            progress=0.0,
        )
        .returning(Job.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else row.attempts


def run_job(*, session_factory: sessionmaker[Session], settings: Settings, signer: Any, job_id: str, worker: str) -> str | None:
    """Run one job to a final status; the same call serves the thread pool and the Celery task.

    Stages: split the real rows into fit and holdout parts (no noise yet), synthesize from the fit
    part only, run the policy's gates (``validating``), then store the release (``released``) or
    its rejection (``rejected``: report and signed manifest kept, data never stored). It commits
    several short transactions rather than one, because the job's progress and lease must be
    visible while it runs. A job that is not queued any more (a redelivered message, a cancelled
    job) is left alone: returns None.
    """
    t0 = time.monotonic()
    with session_scope(session_factory) as session:
        attempt = claim(session=session, job_id=job_id, worker=worker, settings=settings)
        if attempt is None:
            log.info("job %s: not queued any more, skipping", job_id)
            return None
        job = get_job(session=session, job_id=job_id)
        if job.policy_snapshot is None:
            _adopt_default_policy(session, job)
        params = _parameters(job)
        spec = {
            "dataset_id": job.dataset_id,
            "schema_version": job.schema_version,
            "queued_s": round((job.started_at - job.created_at).total_seconds(), 3) if job.started_at else None,
        }
    metrics.JOBS.labels(status="running").inc()
    run = _Attempt(
        factory=session_factory,
        settings=settings,
        signer=signer,
        runner=_Runner(session_factory, settings, job_id, attempt),
        job_id=job_id,
        number=attempt,
        params=params,
        spec=spec,
        # one scratch folder per attempt: a runner that lost its lease must not delete its successor's files
        work_dir=settings.work_dir / job_id / str(attempt),
        t0=t0,
        timings={"queued_s": spec["queued_s"]},
    )

    # The heartbeat keeps the lease alive from the claim to the final status (split, engine, gates, storing).
    with run.runner:
        try:
            with session_scope(session_factory) as session:
                dataset, path, schema = datasets_service.load_for_job(
                    session=session,
                    settings=settings,
                    dataset_id=spec["dataset_id"],
                    version=spec["schema_version"],
                )
                dataset_sha256 = dataset.sha256
        except AppError as exc:  # deleted dataset, missing schema version: nothing was spent
            return run.fail(exc.code, exc.detail)
        except Exception:
            log.exception("job %s: loading its dataset failed", job_id)
            return run.fail("dataset_unavailable", "the dataset could not be loaded")

        try:
            return _run_claimed(run, dataset_sha256=dataset_sha256, path=path, schema=schema)
        finally:
            shutil.rmtree(run.work_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                run.work_dir.parent.rmdir()  # only if no other attempt's folder is left


def _run_claimed(run: _Attempt, *, dataset_sha256: str, path: Path, schema: Any) -> str | None:
    """split -> engine -> gates -> store, for a job this runner owns."""
    settings, runner, job_id, params, spec, timings = run.settings, run.runner, run.job_id, run.params, run.spec, run.timings
    seed = params["split_seed"]
    t_split = time.monotonic()
    try:
        runner.progress(0.0, "split")
        for stale in run.work_dir.parent.glob("*"):  # earlier attempts' leftovers (their runners are gone)
            if stale != run.work_dir:
                shutil.rmtree(stale, ignore_errors=True)
        prepared = holdout.split_source(
            source=path,
            schema=schema,
            work_dir=run.work_dir,
            fraction=settings.holdout_fraction,
            seed=seed,
            max_rows=settings.validation_max_rows,
        )
    except (JobLost, JobCancelled) as exc:
        return run.stopped(exc)
    except engine_errors.EngineError as exc:
        return run.fail(_engine_error_code(exc), str(exc))
    except Exception as exc:
        log.exception("job %s: splitting the data failed", job_id)
        return run.fail("internal_error", f"splitting the data failed: {type(exc).__name__}")
    timings["split_s"] = round(time.monotonic() - t_split, 3)
    run.record(lineage=prepared.lineage)

    t_engine = time.monotonic()
    try:
        engine = engine_api()
        runner.noise_stages = engine.NOISE_STAGES
        result = engine.synthesize(
            prepared.fit_path,  # the fit part only: the holdout never reaches the engine
            schema,
            epsilon=params["epsilon"],
            delta=params["delta"],
            rows=params["rows"],
            seed=params["seed"],
            engine=params["engine"],
            trust_inferred_domain=params["trust_inferred_domain"],
            conditions={schema.target: params["rare_class"]} if params["rare_class"] is not None else None,
            progress=runner.progress,
        )
    except (JobLost, JobCancelled) as exc:
        return run.stopped(exc)
    except engine_errors.SynthesisFailed as exc:
        runner.noise_drawn = True
        return run.fail("synthesis_failed", str(exc))
    except engine_errors.EngineError as exc:
        return run.fail(_engine_error_code(exc), str(exc))
    except Exception as exc:
        log.exception("job %s: engine crashed", job_id)
        return run.fail("internal_error", f"the engine stopped unexpectedly: {type(exc).__name__}")
    timings["engine_s"] = round(time.monotonic() - t_engine, 3)
    timings["engine"] = dict(result.timings)
    runner.noise_drawn = True  # a finished synthesis has drawn all its noise

    t_validate = time.monotonic()
    with session_scope(run.factory) as session:
        moved = transition(
            session,
            job_id,
            ("running",),
            "validating",
            progress=ENGINE_PROGRESS_SHARE,
            stage="validating",
            _guards=runner.mine,
        )
    if not moved:
        return run.after_lost_or_cancelled()
    try:
        verdict = gating.run_gates(
            train=prepared.train,
            holdout=prepared.holdout,
            synthetic=result.data,
            schema=schema,
            snapshot=params["policy_snapshot"],
            roles=params["validation_roles"],
            rare_class=params["rare_class"],
            seed=seed,
            release=result.summary(),
            max_rows=settings.validation_max_rows,
            threads=settings.validation_threads,
        ).to_dict()
    except Exception as exc:  # the noise was drawn: a release that cannot be judged is not released
        log.exception("job %s: the validation gates could not run", job_id)
        return run.fail("validation_error", f"the validation gates could not run: {type(exc).__name__}: {exc}")
    timings["validate_s"] = round(time.monotonic() - t_validate, 3)

    final = "released" if verdict["passed"] else "rejected"
    validation = {
        "policy": {k: verdict["policy"][k] for k in ("name", "version", "digest", "mode", "use_case", "lineage")},
        "verdict": {
            k: verdict[k] for k in ("passed", "decision", "message", "failed_gates", "advisory_failures", "skipped_gates")
        },
        "rows": verdict["rows"],
    }
    t_store = time.monotonic()
    try:
        with session_scope(run.factory) as session:
            if not transition(
                session,
                job_id,
                ("validating",),
                final,
                progress=100.0,
                stage="done",
                finished_at=utcnow(),
                lease_expires_at=None,
                error_code=None if verdict["passed"] else "gate_failed",
                error_message=None if verdict["passed"] else verdict["message"][:2000],
                _guards=(*runner.mine, Job.cancel_requested.is_(False)),
            ):
                raise JobLost(job_id)
            reports_service.store_report(
                session=session,
                job_id=job_id,
                dataset_id=spec["dataset_id"],
                verdict=verdict,
                holdout=prepared.lineage,
            )
            charged = {"rho": params["rho"], "epsilon": params["epsilon"], "delta": params["delta"]}
            artifacts_service.create_artifact(
                session=session,
                settings=settings,
                signer=run.signer,
                job_id=job_id,
                dataset_id=spec["dataset_id"],
                dataset_sha256=dataset_sha256,
                schema_version=spec["schema_version"],
                parameters={k: params[k] for k in MANIFEST_PARAMETERS},
                charged=charged,
                result=result,
                validation=validation,
                lineage={"holdout": prepared.lineage},
                status=final,
            )
            # Released or rejected, the noise was drawn: the reservation becomes a charge.
            ledger_service.charge(
                session=session,
                job_id=job_id,
                reason=final if verdict["passed"] else "gate_failed",
                engine_rho=result.rho,
            )
            timings["store_s"] = round(time.monotonic() - t_store, 3)
            timings["total_s"] = round(time.monotonic() - run.t0, 3)
            session.execute(update(Job).where(Job.id == job_id).values(timings=timings, result_summary=_summary(result)))
    except JobLost:
        return run.after_lost_or_cancelled()
    except Exception as exc:
        log.exception("job %s: storing the release failed", job_id)
        return run.fail("internal_error", f"storing the release failed: {type(exc).__name__}")
    metrics.JOBS.labels(status=final).inc()
    return final


MANIFEST_PARAMETERS = (
    "engine",
    "epsilon",
    "delta",
    "rows",
    "seed",
    "mode",
    "allow_non_dp",
    "trust_inferred_domain",
    "rare_class",
    "validation_roles",
    "policy",
)


def _adopt_default_policy(session: Session, job: Job) -> None:
    """A job queued before policies existed gets its mode's default policy, recorded like any other."""
    policy = policies_service.default_for_mode(session=session, mode=job.mode)
    job.policy, job.policy_version, job.policy_digest = policy.name, policy.version, policy.digest
    job.policy_snapshot = {"resolved": policy.resolved, "lineage": policy.lineage}
    session.flush()


def _finish_failed(
    factory: sessionmaker[Session],
    job_id: str,
    attempt: int,
    *,
    status: str,
    code: str,
    message: str,
    charge: bool,
    timings: dict[str, Any],
) -> str | None:
    with session_scope(factory) as session:
        moved = transition(
            session,
            job_id,
            ("running", "validating"),
            status,
            error_code=code,
            error_message=message[:2000],
            finished_at=utcnow(),
            lease_expires_at=None,
            timings=timings,
            _guards=(Job.attempts == attempt,),
        )
        if not moved:
            return None
        settle(session, job_id, charge=charge, reason=code)
    metrics.JOBS.labels(status=status).inc()
    return status


def _engine_error_code(exc: Exception) -> str:
    return {
        engine_errors.SchemaError: "invalid_schema",
        engine_errors.DataError: "invalid_data",
        engine_errors.BudgetError: "invalid_budget",
        engine_errors.EngineNotAvailable: "engine_not_available",
    }.get(type(exc), "engine_error")


def _parameters(job: Job) -> dict[str, Any]:
    return {
        "engine": job.engine,
        "epsilon": job.epsilon,
        "delta": job.delta,
        "rho": job.rho,
        "rows": job.rows,
        "seed": job.seed,
        "mode": job.mode,
        "allow_non_dp": job.allow_non_dp,
        "trust_inferred_domain": job.trust_inferred_domain,
        "rare_class": job.rare_class,
        "validation_roles": job.validation_roles,
        "policy": {"name": job.policy, "version": job.policy_version, "digest": job.policy_digest},
        "policy_snapshot": job.policy_snapshot,
        "split_seed": split_seed(job),
    }


def split_seed(job: Job) -> int:
    """The seed of the job's holdout split and gates: its own seed, else one derived from its id
    (so a re-run after a lost worker splits the same way)."""
    if job.seed is not None:
        return int(job.seed)
    return int(uuid.UUID(job.id).int % (2**63))


def _summary(result: Any) -> dict[str, Any]:
    from app.artifacts.manifest import jsonable

    summary = result.summary()
    return jsonable({k: summary[k] for k in ("engine", "engine_version", "dp", "epsilon", "delta", "rho", "rows", "warnings")})
