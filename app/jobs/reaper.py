"""The reaper: settles jobs whose runner died (lease lapsed) and sends again queued jobs whose dispatch
was lost; at embedded start-up, :func:`requeue_orphans` dispatches the jobs the last process left queued.

It runs as a thread in the API process (:class:`Reaper`) and as a Celery beat task
(``workers.tasks.reap_jobs``); every move is guarded, so any number of reapers may run at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import metrics
from app.config import Settings
from app.db import after_commit, session_scope, utcnow
from app.jobs.models import Job
from app.jobs.transitions import settle, transition

log = logging.getLogger(__name__)


def reap_expired(*, session: Session, settings: Settings, dispatcher: Any) -> list[tuple[str, str]]:
    """Settle jobs whose runner died (lease lapsed): re-queue if no noise was drawn, else fail and
    charge. Returns [(job_id, new status)]. Every move is guarded, so reapers may run anywhere."""
    now = utcnow()
    stale = session.execute(
        select(Job.id, Job.status, Job.attempts, Job.noise_drawn).where(
            Job.status.in_(("running", "validating")), Job.lease_expires_at < now
        )
    ).all()
    done: list[tuple[str, str]] = []
    for job_id, status, attempts, noise_drawn in stale:
        guards = (Job.attempts == attempts, Job.lease_expires_at < now)
        if not noise_drawn and attempts < settings.max_job_attempts:
            if transition(
                session,
                job_id,
                (status,),
                "queued",
                worker=None,
                lease_expires_at=None,
                heartbeat_at=None,
                progress=0.0,
                stage=None,
                _guards=guards,
            ):
                after_commit(session, lambda job_id=job_id: dispatcher.dispatch(job_id))
                done.append((job_id, "queued"))
            continue
        message = (
            "the worker running this job stopped after noise was drawn; the budget stays charged"
            if noise_drawn
            else f"the job's worker was lost {attempts} times; giving up"
        )
        if transition(
            session,
            job_id,
            (status,),
            "failed",
            error_code="worker_lost",
            error_message=message,
            finished_at=now,
            lease_expires_at=None,
            _guards=guards,
        ):
            settle(session, job_id, charge=noise_drawn, reason="worker_lost")
            done.append((job_id, "failed"))
    done.extend(_redispatch_stale_queued(session, settings=settings, dispatcher=dispatcher, now=now))
    for job_id, status in done:
        if status != "redispatched":
            after_commit(session, lambda s=status: metrics.JOBS.labels(status=s).inc())
        log.warning("reaper: job %s -> %s", job_id, status)
    return done


def _redispatch_stale_queued(session: Session, *, settings: Settings, dispatcher: Any, now: Any) -> list[tuple[str, str]]:
    """Send again jobs still queued a lease after their last dispatch. A duplicate message is harmless:
    only one runner can claim the job."""
    cutoff = now - timedelta(seconds=settings.job_lease_seconds)
    stale = session.execute(
        select(Job.id, Job.dispatched_at).where(
            Job.status == "queued", Job.cancel_requested.is_(False), Job.dispatched_at < cutoff
        )
    ).all()
    sent = []
    for job_id, dispatched_at in stale:
        if transition(
            session,
            job_id,
            ("queued",),
            "queued",
            dispatched_at=now,
            _guards=(Job.dispatched_at == dispatched_at,),
        ):
            after_commit(session, lambda job_id=job_id: dispatcher.dispatch(job_id))
            sent.append((job_id, "redispatched"))
    return sent


def requeue_orphans(*, session: Session, dispatcher: Any) -> int:
    """Embedded start-up: dispatch jobs left queued when the previous process stopped."""
    ids = list(session.scalars(select(Job.id).where(Job.status == "queued", Job.cancel_requested.is_(False))))
    for job_id in ids:
        after_commit(session, lambda job_id=job_id: dispatcher.dispatch(job_id))
    return len(ids)


class Reaper:
    """A daemon thread that calls :func:`reap_expired` every ``reaper_interval_seconds``."""

    def __init__(self, *, session_factory: sessionmaker[Session], settings: Settings, dispatcher: Any) -> None:
        self.factory, self.settings, self.dispatcher = session_factory, settings, dispatcher
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pwsim-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.reaper_interval_seconds):
            try:
                with session_scope(self.factory) as session:
                    reap_expired(session=session, settings=self.settings, dispatcher=self.dispatcher)
            except Exception:
                log.warning("reaper pass failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
