"""Errors raised by the PWSIM engine (plain exceptions: callers translate them)."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on bad input or impossible requests."""


class SchemaError(EngineError):
    """The schema document is invalid, or does not match the data."""


class DataError(EngineError):
    """The input data cannot be read or does not fit its declared schema."""


class BudgetError(EngineError):
    """A privacy-budget request is invalid or would overspend the accountant."""


class EngineNotAvailable(EngineError):
    """The requested engine is unknown or its optional dependencies are not installed."""


class SynthesisFailed(EngineError):
    """Synthesis stopped after drawing noise; ``rho_spent`` says how much privacy was consumed."""

    def __init__(self, message: str, *, rho_spent: float) -> None:
        super().__init__(message)
        self.rho_spent = rho_spent
