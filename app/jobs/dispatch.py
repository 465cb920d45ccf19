"""How a queued job reaches a runner: one small interface, two implementations.

Embedded mode runs ``jobs.runner.run_job`` on an in-process thread pool; scale-out sends the job id
to Celery. Either way the job's state lives in the database, and dispatch happens after commit.
"""

from __future__ import annotations

import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs.runner import run_job

log = logging.getLogger(__name__)


class JobDispatcher(Protocol):
    def dispatch(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


class ThreadPoolDispatcher:
    """Runs jobs in this process (embedded mode). Not Celery's eager mode: jobs run asynchronously."""

    def __init__(self, *, settings: Settings, session_factory: sessionmaker[Session], signer) -> None:
        self.settings, self.session_factory, self.signer = settings, session_factory, signer
        self._pool = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="pwsim-job")
        self._name = f"{socket.gethostname()}:embedded"
        self._lock = threading.Lock()
        self._closed = False

    def dispatch(self, job_id: str) -> None:
        with self._lock:
            if self._closed:
                log.warning("dispatcher closed; job %s stays queued", job_id)
                return
            self._pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            run_job(
                session_factory=self.session_factory,
                settings=self.settings,
                signer=self.signer,
                job_id=job_id,
                worker=self._name,
            )
        except Exception:
            log.exception("job %s: runner crashed; the reaper will settle it", job_id)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


class CeleryDispatcher:
    """Sends the job id to the Celery queue; a ``pwsim worker`` runs it."""

    def __init__(self, *, settings: Settings) -> None:
        from workers.celery_app import make_celery

        self.settings = settings
        self.celery = make_celery(settings)

    def dispatch(self, job_id: str) -> None:
        self.celery.send_task("pwsim.run_job", args=[job_id], queue=self.settings.celery_queue)

    def shutdown(self) -> None:
        pass


def make_dispatcher(*, settings: Settings, session_factory: sessionmaker[Session], signer) -> JobDispatcher:
    if settings.embedded:
        return ThreadPoolDispatcher(settings=settings, session_factory=session_factory, signer=signer)
    return CeleryDispatcher(settings=settings)
