"""Ledger errors a caller can cause."""

from __future__ import annotations

from app.errors import AppError, Conflict


class BudgetExhausted(Conflict):
    code = "budget_exhausted"
    title = "Privacy budget exhausted"


class InvalidBudget(AppError):
    status_code = 422
    code = "invalid_budget"
    title = "Invalid privacy budget"
