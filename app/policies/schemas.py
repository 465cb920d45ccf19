"""Policy response bodies (the request body is the policy document itself, YAML or JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class PolicyRead(BaseModel):
    """One policy version: the document as written and the flat policy it resolves to."""

    name: str
    version: int
    reference: str = Field(description="name@version, what a job's `policy` field accepts.")
    builtin: bool
    digest: str = Field(description="sha256 of the resolved policy; jobs and verdicts record it.")
    mode: str | None
    use_case: str | None
    description: str
    lineage: list[str] = Field(description="name@version of this policy and the bases it extends.")
    document: dict[str, Any] = Field(description="The document as uploaded (or the built-in file).")
    resolved: dict[str, Any] = Field(description="The flat policy: inherited gates and params merged.")
    created_at: datetime | None


class PolicySummary(BaseModel):
    name: str
    builtin: bool
    versions: list[int] = Field(
        description="Every version, oldest first; each stays resolvable as name@version (built-in ones too)."
    )
    latest: PolicyRead


class PolicyList(BaseModel):
    items: list[PolicySummary]


class PolicyVersionList(BaseModel):
    name: str
    builtin: bool
    items: list[PolicyRead]
