"""The job state machine on real PostgreSQL: guarded claim, reaper, cancellation, idempotent runs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.artifacts.signing import load_signer
from app.db import session_scope, utcnow
from app.jobs import reaper as jobs_reaper
from app.jobs import runner as jobs_runner
from app.jobs import service as jobs
from app.jobs.dispatch import ThreadPoolDispatcher
from app.jobs.models import Job
from app.ledger import service as ledger
from tests.conftest import make_settings
from tests.factories import make_dataset_with_file, make_job

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path, pg_url):
    return make_settings(tmp_path / "data", database_url=pg_url, job_lease_seconds=30)


@pytest.fixture
def queued(pg_factory, settings):
    """A queued job with its reservation, on a dataset whose file exists."""
    with session_scope(pg_factory) as session:
        ds = make_dataset_with_file(session, settings)
        job = make_job(session, ds, rho=0.01, rows=20, seed=1)
        ledger.reserve(session=session, dataset_id=ds.id, job_id=job.id, rho=0.01, epsilon=0.8, delta=1e-9)
        return job.id


def job_state(factory, job_id):
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        return job.status, job.attempts, ledger.job_budget(session=session, job_id=job_id), job.error_code


def test_claim_is_guarded(pg_factory, settings, queued):
    with session_scope(pg_factory) as session:
        assert jobs_runner.claim(session=session, job_id=queued, worker="a", settings=settings) == 1
    with session_scope(pg_factory) as session:  # a redelivered message loses the race quietly
        assert jobs_runner.claim(session=session, job_id=queued, worker="b", settings=settings) is None


def test_run_job_twice_runs_once(pg_factory, settings, queued):
    signer = load_signer(settings)
    kwargs = {
        "session_factory": pg_factory,
        "settings": settings,
        "signer": signer,
        "job_id": queued,
        "worker": "t",
    }
    assert jobs_runner.run_job(**kwargs) == "released"
    assert jobs_runner.run_job(**kwargs) is None
    status, attempts, budget, _ = job_state(pg_factory, queued)
    assert status == "released" and attempts == 1
    assert budget == {"reserved": 0.01, "charged": 0.01, "released": None}


def _expire(factory, job_id, **values):
    with session_scope(factory) as session:
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1), **values))


def test_reaper_requeues_a_job_that_drew_no_noise(pg_factory, settings, queued):
    with session_scope(pg_factory) as session:
        jobs_runner.claim(session=session, job_id=queued, worker="dead", settings=settings)
    _expire(pg_factory, queued)
    dispatcher = ThreadPoolDispatcher(settings=settings, session_factory=pg_factory, signer=load_signer(settings))
    try:
        with session_scope(pg_factory) as session:
            assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=dispatcher) == [(queued, "queued")]
        deadline = time.monotonic() + 60
        while job_state(pg_factory, queued)[0] != "released":
            assert time.monotonic() < deadline, job_state(pg_factory, queued)
            time.sleep(0.2)
    finally:
        dispatcher.shutdown()
    _status, attempts, budget, _ = job_state(pg_factory, queued)
    assert attempts == 2 and budget["charged"] == 0.01 and budget["released"] is None


def test_reaper_fails_and_charges_once_noise_was_drawn(pg_factory, settings, queued):
    with session_scope(pg_factory) as session:
        jobs_runner.claim(session=session, job_id=queued, worker="dead", settings=settings)
    _expire(pg_factory, queued, noise_drawn=True, stage="measure")
    with session_scope(pg_factory) as session:
        assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=None) == [(queued, "failed")]
    with session_scope(pg_factory) as session:  # a second reaper finds nothing to do
        assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=None) == []
    status, _, budget, code = job_state(pg_factory, queued)
    assert (status, code) == ("failed", "worker_lost")
    assert budget == {"reserved": 0.01, "charged": 0.01, "released": None}


def test_reaper_gives_up_after_max_attempts(pg_factory, settings, queued):
    _expire(pg_factory, queued, status="running", attempts=settings.max_job_attempts)
    with session_scope(pg_factory) as session:
        assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=None) == [(queued, "failed")]
    status, _, budget, _ = job_state(pg_factory, queued)
    assert status == "failed" and budget["released"] == 0.01 and budget["charged"] is None


def test_live_lease_is_not_reaped(pg_factory, settings, queued):
    with session_scope(pg_factory) as session:
        jobs_runner.claim(session=session, job_id=queued, worker="alive", settings=settings)
    with session_scope(pg_factory) as session:
        assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=None) == []


def test_cancel_queued_releases(pg_factory, queued):
    with session_scope(pg_factory) as session:
        assert jobs.cancel_job(session=session, job_id=queued).status == "cancelled"
    status, _, budget, _ = job_state(pg_factory, queued)
    assert status == "cancelled" and budget["released"] == 0.01 and budget["charged"] is None


def test_cancel_running_stops_at_next_progress_and_charges_after_noise(pg_factory, settings, queued):
    with session_scope(pg_factory) as session:
        attempt = jobs_runner.claim(session=session, job_id=queued, worker="w", settings=settings)
        jobs.cancel_job(session=session, job_id=queued)
    runner = jobs_runner._Runner(pg_factory, settings, queued, attempt)
    runner.noise_stages = frozenset({"measure"})
    with pytest.raises(jobs_runner.JobCancelled):
        runner.progress(0.5, "measure")
    assert runner.noise_drawn
    assert (
        jobs_runner._finish_failed(
            pg_factory,
            queued,
            attempt,
            status="cancelled",
            code="cancelled",
            message="x",
            charge=True,
            timings={},
        )
        == "cancelled"
    )
    status, _, budget, _ = job_state(pg_factory, queued)
    assert status == "cancelled" and budget["charged"] == 0.01


def test_concurrent_requests_with_one_idempotency_key_make_one_job(pg_factory, settings):
    import threading

    from app.jobs.schemas import JobCreate

    with session_scope(pg_factory) as session:
        ds = make_dataset_with_file(session, settings)
        dataset_id = ds.id
    dispatcher = ThreadPoolDispatcher(settings=settings, session_factory=pg_factory, signer=load_signer(settings))
    request = JobCreate(dataset_id=dataset_id, epsilon=0.3, rows=10, seed=1)
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def create() -> None:
        barrier.wait()
        with session_scope(pg_factory) as session:
            job, _ = jobs.create_job(
                session=session,
                settings=settings,
                dispatcher=dispatcher,
                request=request,
                idempotency_key="same",
            )
            ids.append(job.id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        dispatcher.shutdown()
    assert len(ids) == 8 and len(set(ids)) == 1
    with session_scope(pg_factory) as session:
        kinds = [e.kind for e in ledger.entries(session=session, dataset_id=dataset_id)]
    assert kinds.count("reserve") == 1


def test_queued_job_whose_message_was_lost_is_sent_again(pg_factory, settings, queued):
    # as if the broker was down right after the commit: the job sits queued, nobody runs it
    with session_scope(pg_factory) as session:
        session.execute(update(Job).where(Job.id == queued).values(dispatched_at=utcnow() - timedelta(hours=1)))
    dispatcher = ThreadPoolDispatcher(settings=settings, session_factory=pg_factory, signer=load_signer(settings))
    try:
        with session_scope(pg_factory) as session:
            assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=dispatcher) == [
                (queued, "redispatched")
            ]
        deadline = time.monotonic() + 60
        while job_state(pg_factory, queued)[0] != "released":
            assert time.monotonic() < deadline, job_state(pg_factory, queued)
            time.sleep(0.2)
        with session_scope(pg_factory) as session:  # recently dispatched jobs are left alone
            assert jobs_reaper.reap_expired(session=session, settings=settings, dispatcher=dispatcher) == []
    finally:
        dispatcher.shutdown()
