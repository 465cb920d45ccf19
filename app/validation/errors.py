"""Errors raised by the validation library (plain exceptions: callers translate them)."""

from __future__ import annotations


class ValidationLibraryError(Exception):
    """Base class of every error the validation library raises on bad input."""


class MetadataError(ValidationLibraryError):
    """The column metadata is invalid or does not match the data."""


class PolicyError(ValidationLibraryError):
    """A policy document is invalid, or names an unknown metric or base policy."""
