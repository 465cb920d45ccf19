"""Thin tasks: ids in, a domain service call, commit. All logic lives in app.jobs (runner and reaper)."""

from __future__ import annotations

import logging
import socket
from functools import cache

from sqlalchemy.exc import OperationalError

from app.artifacts.signing import Signer, load_signer
from app.config import get_settings
from app.db import make_engine, make_session_factory, session_scope
from app.jobs import reaper, runner
from workers.celery_app import celery_app

log = logging.getLogger(__name__)


@cache
def _runtime() -> tuple:
    settings = get_settings()
    return settings, make_session_factory(make_engine(settings.sqlalchemy_url)), load_signer(settings)


class _CeleryDispatcher:
    """Re-queued jobs go back on the same queue."""

    def dispatch(self, job_id: str) -> None:
        run_job.apply_async(args=[job_id], queue=get_settings().celery_queue)


@celery_app.task(
    name="pwsim.run_job",
    bind=True,
    autoretry_for=(OperationalError,),  # database unreachable: transient, retried with backoff
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def run_job(self, job_id: str) -> str | None:
    settings, factory, signer = _runtime()
    signer: Signer
    worker = f"{socket.gethostname()}:{self.request.hostname or 'celery'}"
    return runner.run_job(session_factory=factory, settings=settings, signer=signer, job_id=job_id, worker=worker)


@celery_app.task(name="pwsim.reap_jobs", ignore_result=True)
def reap_jobs() -> int:
    settings, factory, _ = _runtime()
    with session_scope(factory) as session:
        return len(reaper.reap_expired(session=session, settings=settings, dispatcher=_CeleryDispatcher()))
