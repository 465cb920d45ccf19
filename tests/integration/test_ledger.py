"""The budget ledger on real PostgreSQL: reservation rules, settlement, the hash chain, concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import session_scope
from app.ledger import service as ledger
from app.ledger.exceptions import BudgetExhausted, InvalidBudget
from app.ledger.models import LedgerEntry
from tests.factories import make_dataset, make_job

pytestmark = pytest.mark.postgres


def test_reserve_charge_release(pg_session):
    ds = make_dataset(pg_session, epsilon=1.0)
    total = ledger.summary(session=pg_session, dataset_id=ds.id)["total"]["rho"]
    a, b = make_job(pg_session, ds), make_job(pg_session, ds)
    ledger.reserve(session=pg_session, dataset_id=ds.id, job_id=a.id, rho=total / 4, epsilon=0.4, delta=1e-9)
    ledger.reserve(session=pg_session, dataset_id=ds.id, job_id=b.id, rho=total / 4, epsilon=0.4, delta=1e-9)
    assert ledger.charge(session=pg_session, job_id=a.id) is True
    assert ledger.release(session=pg_session, job_id=b.id) is True
    # settled once: neither a second charge nor a release after a charge writes anything
    assert ledger.charge(session=pg_session, job_id=a.id) is False
    assert ledger.release(session=pg_session, job_id=a.id) is False
    assert ledger.charge(session=pg_session, job_id=b.id) is False
    s = ledger.summary(session=pg_session, dataset_id=ds.id)
    assert s["charged"]["rho"] == pytest.approx(total / 4)
    assert s["reserved"]["rho"] == 0
    assert s["remaining"]["rho"] == pytest.approx(total * 3 / 4)
    assert [e.kind for e in s["entries"]] == ["grant", "reserve", "reserve", "charge", "release"]
    assert s["chain_valid"]


def test_overspend_refused_with_remaining(pg_session):
    ds = make_dataset(pg_session, epsilon=1.0)
    job = make_job(pg_session, ds)
    total = ledger.summary(session=pg_session, dataset_id=ds.id)["total"]["rho"]
    with pytest.raises(BudgetExhausted) as info:
        ledger.reserve(session=pg_session, dataset_id=ds.id, job_id=job.id, rho=total * 1.01, epsilon=1.01, delta=1e-9)
    assert info.value.extra["remaining"]["rho"] == pytest.approx(total)
    assert info.value.extra["remaining"]["epsilon"] == pytest.approx(1.0)
    assert [e.kind for e in ledger.entries(session=pg_session, dataset_id=ds.id)] == ["grant"]


def test_invalid_budget(pg_session):
    with pytest.raises(InvalidBudget):
        make_dataset(pg_session, epsilon=0.0)
    with pytest.raises(InvalidBudget):
        ledger.to_rho(epsilon=1.0, delta=1.0)


def test_second_charge_is_impossible_not_just_unlikely(pg_session):
    ds = make_dataset(pg_session)
    job = make_job(pg_session, ds)
    ledger.reserve(session=pg_session, dataset_id=ds.id, job_id=job.id, rho=0.001, epsilon=0.1, delta=1e-9)
    ledger.charge(session=pg_session, job_id=job.id)
    with pytest.raises(IntegrityError, match="uq_ledger_entry_job_id_kind"), pg_session.begin_nested():
        pg_session.add(
            LedgerEntry(
                dataset_id=ds.id,
                seq=99,
                job_id=job.id,
                kind="charge",
                rho=0.001,
                details={},
                prev_hash="0" * 64,
                entry_hash="f" * 64,
            )
        )
        pg_session.flush()


def test_tampering_breaks_the_chain(pg_session):
    ds = make_dataset(pg_session)
    job = make_job(pg_session, ds)
    ledger.reserve(session=pg_session, dataset_id=ds.id, job_id=job.id, rho=0.001, epsilon=0.1, delta=1e-9)
    ledger.charge(session=pg_session, job_id=job.id)
    assert ledger.verify_chain(session=pg_session, dataset_id=ds.id)
    # a superuser can switch the append-only triggers off; the hash chain still shows the edit
    pg_session.execute(text("SET LOCAL session_replication_role = replica"))
    pg_session.execute(text("UPDATE ledger_entry SET rho = 0 WHERE job_id = :j AND kind = 'charge'"), {"j": job.id})
    pg_session.execute(text("SET LOCAL session_replication_role = origin"))
    pg_session.expire_all()
    assert not ledger.verify_chain(session=pg_session, dataset_id=ds.id)


@pytest.mark.parametrize("statement", ["UPDATE ledger_entry SET rho = 0", "DELETE FROM ledger_entry"])
def test_database_refuses_to_rewrite_the_ledger(pg_session, statement):
    from sqlalchemy.exc import DBAPIError

    make_dataset(pg_session)
    with pytest.raises(DBAPIError, match="append-only"), pg_session.begin_nested():
        pg_session.execute(text(statement))


def test_parallel_reservations_never_overspend(pg_factory):
    """Many reservations from separate connections: exactly the affordable number succeed."""
    with session_scope(pg_factory) as session:
        ds = make_dataset(session, epsilon=1.0)
        total = ledger.summary(session=session, dataset_id=ds.id)["total"]["rho"]
        jobs = [make_job(session, ds).id for _ in range(24)]
        dataset_id = ds.id
    affordable = 8
    cost = total / affordable * (1 - 1e-9)  # 8 fit with room to spare for rounding, a 9th cannot
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(job_id: str) -> None:
        barrier.wait()
        try:
            with session_scope(pg_factory) as session:
                ledger.reserve(session=session, dataset_id=dataset_id, job_id=job_id, rho=cost, epsilon=0.3, delta=1e-9)
            result = "ok"
        except BudgetExhausted:
            result = "exhausted"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == affordable and outcomes.count("exhausted") == len(jobs) - affordable
    with session_scope(pg_factory) as session:
        s = ledger.summary(session=session, dataset_id=dataset_id)
        reserved = [e.rho for e in s["entries"] if e.kind == "reserve"]
        assert len(reserved) == affordable
        assert sum(reserved) <= total
        assert s["remaining"]["rho"] >= 0
        assert [e.seq for e in s["entries"]] == list(range(1, affordable + 2))
        assert s["chain_valid"]
