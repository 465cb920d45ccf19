"""The rule for tests that need a server: skip locally with the reason, fail when CI is set."""

from __future__ import annotations

import pytest

from tests.conftest import require

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_skips_with_reason_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"Redis at 127\.0\.0\.1:1 is unreachable"):
        require("Redis", UNREACHABLE, 6379)


def test_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require("Redis", UNREACHABLE, 6379)
