"""Zero-concentrated DP (zCDP) accounting: mechanism costs, (epsilon, delta) conversions, a ledger.

Costs are in rho (Bun & Steinke 2016, arXiv 1605.02065) and compose by addition (their Lemma 2.3).
Conversions to (epsilon, delta)-DP use the Canonne, Kamath & Steinke 2020 bound (arXiv 2004.00010),
the one OpenDP uses; the looser Bun & Steinke closed forms are kept for comparison and as safe brackets.
Every public function raises ``BudgetError`` (one-line message) on an invalid argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scipy.optimize import brentq

from app.engine.errors import BudgetError

SPEND_RTOL = 1e-9  # shares that sum to the budget must not fail on float rounding
_BISECT_RTOL = 1e-13


def _check(name: str, value: float, *, positive: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise BudgetError(f"{name} must be a finite {kind} number, got {value!r}")
    return value


def _check_delta(delta: float) -> float:
    delta = float(delta)
    if not 0 < delta < 1:
        raise BudgetError(f"delta must be in (0, 1), got {delta!r}")
    return delta


def _bisect(ok: Callable[[float], bool], good: float, bad: float) -> float:
    """Narrow [good, bad] (either order) keeping ``ok(good)`` true; return ``good``, a safe answer."""
    while abs(bad - good) > _BISECT_RTOL * max(abs(good), abs(bad)):
        mid = (good + bad) / 2
        if mid in (good, bad):  # adjacent floats
            break
        good, bad = (mid, bad) if ok(mid) else (good, mid)
    return good


def validate_epsilon_delta(epsilon: float, delta: float) -> None:
    """Check an (epsilon, delta) target.

    Raises:
        BudgetError: unless epsilon is positive and finite and 0 < delta < 1.

    >>> validate_epsilon_delta(1.0, 1e-9)
    >>> validate_epsilon_delta(0.0, 1e-9)
    Traceback (most recent call last):
    app.engine.errors.BudgetError: epsilon must be a finite positive number, got 0.0
    """
    _check("epsilon", epsilon, positive=True)
    _check_delta(delta)


def cdp_delta(rho: float, epsilon: float) -> float:
    """The delta for which rho-zCDP implies (epsilon, delta)-DP, by the CKS20 bound.

    delta = min over alpha > 1 of exp((alpha-1)(alpha*rho - epsilon)) / (alpha-1) * (1 - 1/alpha)^alpha.
    With t = alpha - 1, the derivative of log delta in alpha is (2t+1)rho - epsilon + log(t/(1+t)),
    increasing in t; its root is found in log t. Any alpha gives a valid bound, so an inexact root
    can only make delta larger, never unsafe.

    Args:
        rho: zCDP cost, >= 0.
        epsilon: target epsilon, >= 0.

    Returns:
        delta in [0, 1].

    >>> round(cdp_delta(0.0149731, 1.0) * 1e9, 3)
    1.0
    >>> cdp_delta(0.0, 1.0)
    0.0
    """
    rho, epsilon = _check("rho", rho), _check("epsilon", epsilon)
    if rho == 0:
        return 0.0

    def slope(u: float) -> float:  # d/dalpha of log delta(alpha), at t = exp(u)
        t = math.exp(u)
        return (2 * t + 1) * rho - epsilon + u - math.log1p(t)

    # alpha >= 2 at u_hi, where the slope is > 0; capped so that t stays finite (the cap binds only
    # when delta underflows to 0 anyway, and any alpha gives a valid bound)
    u_hi = min(700.0, math.log1p((epsilon + 1) / (2 * rho)))
    u_lo = min(-1.0, u_hi - 1)
    while slope(u_lo) >= 0:
        u_lo *= 2
        if u_lo < -700:  # optimum at alpha -> 1+, where the bound tends to 1
            return 1.0
    u = brentq(slope, u_lo, u_hi, xtol=1e-15, rtol=1e-15) if slope(u_hi) > 0 else u_hi
    t = math.exp(u)
    log_delta = t * ((1 + t) * rho - epsilon) + t * math.log(t) - (1 + t) * math.log1p(t)
    return min(1.0, math.exp(log_delta))


def epsilon_from_rho(rho: float, delta: float) -> float:
    """Smallest epsilon (to about 1e-13 relative) such that rho-zCDP implies (epsilon, delta)-DP.

    >>> round(epsilon_from_rho(0.0149731, 1e-9), 4)
    1.0
    >>> epsilon_from_rho(0.0, 1e-9)
    0.0
    """
    rho, delta = _check("rho", rho), _check_delta(delta)
    if rho == 0:
        return 0.0
    # starts from BS16, itself a valid conversion, so the answer is safe even if bisection stops early
    return _bisect(lambda eps: cdp_delta(rho, eps) <= delta, bs16_epsilon(rho, delta), 0.0)


def rho_from_epsilon_delta(epsilon: float, delta: float) -> float:
    """Largest rho (to about 1e-13 relative) such that rho-zCDP implies (epsilon, delta)-DP.

    >>> round(rho_from_epsilon_delta(1.0, 1e-9), 5)
    0.01497
    """
    validate_epsilon_delta(epsilon, delta)
    lo = bs16_rho(epsilon, delta)  # a valid rho, usually 20-40% short of the CKS20 one
    hi = 2 * lo or math.ulp(0.0)  # BS16 underflows to 0 only for epsilon below ~1e-150
    while cdp_delta(hi, epsilon) <= delta:
        lo, hi = hi, 2 * hi
    return _bisect(lambda rho: cdp_delta(rho, epsilon) <= delta, lo, hi)


def bs16_epsilon(rho: float, delta: float) -> float:
    """Bun-Steinke 2016 (Prop. 1.3) conversion: rho + 2*sqrt(rho*ln(1/delta)); looser than CKS20.

    >>> round(bs16_epsilon(0.01178, 1e-9), 3)
    1.0
    """
    rho, delta = _check("rho", rho), _check_delta(delta)
    return rho + 2 * math.sqrt(-rho * math.log(delta))


def bs16_rho(epsilon: float, delta: float) -> float:
    """Closed-form inverse of ``bs16_epsilon``: (sqrt(L + epsilon) - sqrt(L))^2 with L = ln(1/delta).

    >>> round(bs16_rho(1.0, 1e-9), 5)
    0.01178
    """
    validate_epsilon_delta(epsilon, delta)
    log_inv = -math.log(delta)
    return (epsilon / (math.sqrt(log_inv + epsilon) + math.sqrt(log_inv))) ** 2  # no cancellation


def gaussian_rho(sensitivity: float, sigma: float) -> float:
    """zCDP cost of Gaussian noise of std ``sigma`` on an L2-sensitivity query (BS16 Prop. 1.6).

    >>> gaussian_rho(1.0, 5.0)
    0.02
    """
    return _check("sensitivity", sensitivity) ** 2 / (2 * _check("sigma", sigma, positive=True) ** 2)


def gaussian_sigma(sensitivity: float, rho: float) -> float:
    """Gaussian noise std that costs exactly ``rho`` for an L2-sensitivity query.

    >>> gaussian_sigma(1.0, 0.02)
    5.0
    """
    return _check("sensitivity", sensitivity) / math.sqrt(2 * _check("rho", rho, positive=True))


def exponential_mechanism_rho(epsilon: float) -> float:
    """zCDP cost of an epsilon-DP exponential mechanism, epsilon^2/8 (bounded range, Cesar & Rogers 2021).

    >>> exponential_mechanism_rho(2.0)
    0.5
    """
    return _check("epsilon", epsilon) ** 2 / 8


def exponential_mechanism_epsilon(rho: float) -> float:
    """Exponential-mechanism epsilon that costs exactly ``rho``: sqrt(8 rho).

    >>> exponential_mechanism_epsilon(0.5)
    2.0
    """
    return math.sqrt(8 * _check("rho", rho))


def pure_dp_rho(epsilon: float) -> float:
    """zCDP cost of any epsilon-DP mechanism, epsilon^2/2 (BS16 Prop. 1.4).

    >>> pure_dp_rho(1.0)
    0.5
    """
    return _check("epsilon", epsilon) ** 2 / 2


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    return value


@dataclass(frozen=True)
class Charge:
    """One recorded spend: a name, its zCDP cost and free-form details (sigma, clique, ...)."""

    name: str
    rho: float
    details: dict[str, Any] = field(default_factory=dict)


class Accountant:
    """A zCDP budget that records every charge and refuses to overspend.

    Args:
        rho_budget: total zCDP budget, finite and >= 0.

    >>> acct = Accountant.from_epsilon_delta(1.0, 1e-9)
    >>> _ = acct.spend("one-way", acct.rho_budget / 2, sigma=10.0)
    >>> _ = acct.spend("two-way", acct.rho_budget / 2)
    >>> acct.remaining, round(acct.epsilon_spent(1e-9), 4)
    (0.0, 1.0)
    >>> acct.spend("more", 1e-6)
    Traceback (most recent call last):
    app.engine.errors.BudgetError: charge 'more' of rho=1e-06 exceeds the remaining rho=0 (budget 0.0149731)
    """

    def __init__(self, rho_budget: float) -> None:
        self.rho_budget = _check("rho_budget", rho_budget)
        self.epsilon: float | None = None
        self.delta: float | None = None
        self._charges: list[Charge] = []

    @classmethod
    def from_epsilon_delta(cls, epsilon: float, delta: float) -> Accountant:
        """An accountant whose budget is the largest rho meeting (epsilon, delta)-DP by CKS20."""
        accountant = cls(rho_from_epsilon_delta(epsilon, delta))
        accountant.epsilon, accountant.delta = float(epsilon), float(delta)
        return accountant

    @property
    def spent(self) -> float:
        """Total rho charged so far (composition adds rhos)."""
        return math.fsum(charge.rho for charge in self._charges)

    @property
    def remaining(self) -> float:
        """Budget left, never negative."""
        return max(0.0, self.rho_budget - self.spent)

    @property
    def charges(self) -> tuple[Charge, ...]:
        """Every charge, in order."""
        return tuple(self._charges)

    def spend(self, name: str, rho: float, **details: Any) -> Charge:
        """Record a charge of ``rho``, or refuse it and record nothing.

        Raises:
            BudgetError: rho is negative or not finite, or the total would exceed the budget
                (beyond a relative rounding tolerance of 1e-9).
        """
        rho = _check(f"rho of charge {name!r}", rho)
        if self.spent + rho > self.rho_budget * (1 + SPEND_RTOL):
            raise BudgetError(
                f"charge {name!r} of rho={rho:.6g} exceeds the remaining rho={self.remaining:.6g} (budget {self.rho_budget:.6g})"
            )
        charge = Charge(name, rho, dict(details))
        self._charges.append(charge)
        return charge

    def epsilon_spent(self, delta: float) -> float:
        """CKS20 epsilon of the rho spent so far, at ``delta``."""
        return epsilon_from_rho(self.spent, delta)

    def to_list(self) -> list[dict[str, Any]]:
        """Charges as JSON-ready dicts ``{"name", "rho", **details}``."""
        return [_jsonable({"name": c.name, "rho": c.rho, **c.details}) for c in self._charges]
