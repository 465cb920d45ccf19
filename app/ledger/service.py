"""Budget rules. Every spend is one conditional UPDATE on the budget row plus a ledger entry, in the
caller's transaction; the UPDATE also serialises appends to a dataset's hash chain (the row lock is
held until commit), and unique (job_id, kind) makes a second charge or release impossible."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from app.canonical import canonical_json, sha256_hex
from app.db import utcnow
from app.engine import accountant
from app.engine.errors import BudgetError
from app.ledger.exceptions import BudgetExhausted, InvalidBudget
from app.ledger.models import Budget, LedgerEntry

GENESIS_HASH = "0" * 64


def to_rho(*, epsilon: float, delta: float) -> float:
    """zCDP rho of an (epsilon, delta) target (CKS20); InvalidBudget if the pair is out of range."""
    try:
        return accountant.rho_from_epsilon_delta(epsilon, delta)
    except BudgetError as exc:
        raise InvalidBudget(str(exc)) from None


def to_epsilon(*, rho: float, delta: float) -> float:
    return accountant.epsilon_from_rho(max(rho, 0.0), delta)


def open_budget(*, session: Session, dataset_id: str, epsilon: float, delta: float) -> Budget:
    """Create a dataset's budget and the ``grant`` entry that starts its chain."""
    rho = to_rho(epsilon=epsilon, delta=delta)
    budget = Budget(dataset_id=dataset_id, epsilon=epsilon, delta=delta, rho_total=rho, rho_remaining=rho)
    session.add(budget)
    session.flush()
    _append(session, dataset_id=dataset_id, job_id=None, kind="grant", rho=rho, epsilon=epsilon, delta=delta)
    return budget


def reserve(*, session: Session, dataset_id: str, job_id: str, rho: float, epsilon: float, delta: float) -> float:
    """Reserve ``rho`` for a job, or raise BudgetExhausted (nothing written). Returns what remains."""
    remaining = session.execute(
        update(Budget)
        .where(Budget.dataset_id == dataset_id, Budget.rho_remaining >= rho)
        .values(rho_remaining=Budget.rho_remaining - rho)
        .returning(Budget.rho_remaining)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if remaining is None:
        budget = _budget(session, dataset_id)
        raise BudgetExhausted(
            f"the job needs epsilon {epsilon:g} (rho {rho:.6g}) but only epsilon "
            f"{to_epsilon(rho=budget.rho_remaining, delta=budget.delta):.6g} "
            f"(rho {budget.rho_remaining:.6g}) remains at delta {budget.delta:g}",
            remaining=_amounts(budget.rho_remaining, budget.delta),
            requested={"rho": rho, "epsilon": epsilon, "delta": delta},
        )
    _append(session, dataset_id=dataset_id, job_id=job_id, kind="reserve", rho=rho, epsilon=epsilon, delta=delta)
    return remaining


def charge(*, session: Session, job_id: str, **details: Any) -> bool:
    """Turn a job's reservation into a charge. False (and no write) if it was already settled."""
    return _settle(session, job_id=job_id, kind="charge", details=details)


def release(*, session: Session, job_id: str, **details: Any) -> bool:
    """Give a job's reservation back. False (and no write) if it was already settled."""
    return _settle(session, job_id=job_id, kind="release", details=details)


def _settle(session: Session, *, job_id: str, kind: str, details: dict[str, Any]) -> bool:
    reservation = _entry(session, job_id=job_id, kind="reserve")
    if reservation is None:
        return False
    where = Budget.dataset_id == reservation.dataset_id
    # Lock the budget row first (a no-op UPDATE): the settled-check below then sees every
    # committed settlement of this job, so a charge and a release can never both be written.
    session.execute(
        update(Budget).where(where).values(rho_remaining=Budget.rho_remaining).execution_options(synchronize_session=False)
    )
    settled = session.scalars(
        select(LedgerEntry.kind).where(LedgerEntry.job_id == job_id, LedgerEntry.kind.in_(("charge", "release")))
    ).first()
    if settled is not None:
        return False
    if kind == "release":
        back = Budget.rho_remaining + reservation.rho
        session.execute(
            update(Budget)
            .where(where)
            .values(rho_remaining=case((back > Budget.rho_total, Budget.rho_total), else_=back))
            .execution_options(synchronize_session=False)
        )
    _append(
        session,
        dataset_id=reservation.dataset_id,
        job_id=job_id,
        kind=kind,
        rho=reservation.rho,
        epsilon=reservation.epsilon,
        delta=reservation.delta,
        details=details,
    )
    return True


def _entry(session: Session, *, job_id: str, kind: str) -> LedgerEntry | None:
    return session.scalars(select(LedgerEntry).where(LedgerEntry.job_id == job_id, LedgerEntry.kind == kind)).first()


def _append(
    session: Session,
    *,
    dataset_id: str,
    job_id: str | None,
    kind: str,
    rho: float,
    epsilon: float | None,
    delta: float | None,
    details: dict[str, Any] | None = None,
) -> LedgerEntry:
    last = session.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash)
        .where(LedgerEntry.dataset_id == dataset_id)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.entry_hash) if last else (1, GENESIS_HASH)
    entry = LedgerEntry(
        dataset_id=dataset_id,
        seq=seq,
        job_id=job_id,
        kind=kind,
        rho=float(rho),
        epsilon=epsilon,
        delta=delta,
        details=details or {},
        created_at=utcnow(),
        prev_hash=prev_hash,
    )
    entry.entry_hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def entry_content(entry: LedgerEntry) -> dict[str, Any]:
    """What an entry's hash covers (everything but its own hash and row id)."""
    return {
        "dataset_id": entry.dataset_id,
        "seq": entry.seq,
        "job_id": entry.job_id,
        "kind": entry.kind,
        "rho": entry.rho,
        "epsilon": entry.epsilon,
        "delta": entry.delta,
        "details": entry.details or {},
        "created_at": _iso(entry.created_at),
    }


def entry_hash(entry: LedgerEntry) -> str:
    return sha256_hex(entry.prev_hash.encode() + canonical_json(entry_content(entry)))


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


def entries(*, session: Session, dataset_id: str) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.dataset_id == dataset_id).order_by(LedgerEntry.seq)))


def verify_chain(*, session: Session, dataset_id: str) -> bool:
    """True when every entry links to the one before it and its hash matches its content."""
    prev = GENESIS_HASH
    for i, entry in enumerate(entries(session=session, dataset_id=dataset_id), start=1):
        if entry.seq != i or entry.prev_hash != prev or entry_hash(entry) != entry.entry_hash:
            return False
        prev = entry.entry_hash
    return True


def _budget(session: Session, dataset_id: str) -> Budget:
    """The budget row as the database has it now (the conditional UPDATEs bypass the identity map)."""
    return session.execute(
        select(Budget).where(Budget.dataset_id == dataset_id).execution_options(populate_existing=True)
    ).scalar_one()


def _amounts(rho: float, delta: float) -> dict[str, float]:
    return {"rho": rho, "epsilon": to_epsilon(rho=rho, delta=delta), "delta": delta}


def summary(*, session: Session, dataset_id: str) -> dict[str, Any]:
    """Total, charged, reserved and remaining (each as rho and epsilon at the budget's delta)."""
    budget = _budget(session, dataset_id)
    rows = entries(session=session, dataset_id=dataset_id)
    charged = sum(e.rho for e in rows if e.kind == "charge")
    settled = {e.job_id for e in rows if e.kind in ("charge", "release")}
    reserved = sum(e.rho for e in rows if e.kind == "reserve" and e.job_id not in settled)
    return {
        "delta": budget.delta,
        "total": _amounts(budget.rho_total, budget.delta),
        "charged": _amounts(charged, budget.delta),
        "reserved": _amounts(reserved, budget.delta),
        "remaining": _amounts(budget.rho_remaining, budget.delta),
        "chain_valid": verify_chain(session=session, dataset_id=dataset_id),
        "entries": rows,
    }


def remaining(*, session: Session, dataset_id: str) -> dict[str, float]:
    budget = _budget(session, dataset_id)
    return _amounts(budget.rho_remaining, budget.delta)


def budget_delta(*, session: Session, dataset_id: str) -> float:
    return session.execute(select(Budget.delta).where(Budget.dataset_id == dataset_id)).scalar_one()


def job_budget(*, session: Session, job_id: str) -> dict[str, Any]:
    """A job's reservation and how it was settled: {reserved, charged, released} in rho (or None)."""
    rows = {e.kind: e.rho for e in session.scalars(select(LedgerEntry).where(LedgerEntry.job_id == job_id))}
    return {"reserved": rows.get("reserve"), "charged": rows.get("charge"), "released": rows.get("release")}
