"""Policy rules: built-in policies come from the validation library, uploaded ones from the database.

An uploaded version is immutable: the same name and version with the same document is the same
policy (the upload answers with it again), with another document it is a conflict. A document that
``extends`` a base is resolved when it is uploaded and stored flat as well, so a later version of
the base never changes what an existing version means; its ``digest`` (sha256 of the flat policy)
is what jobs and verdicts record. Built-in names are reserved: they change only with the code, and
then only by a new version; earlier built-in versions stay resolvable (the library's archive), so a
job that names ``default@1`` is judged by, and records, exactly what ``default@1`` always meant.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.canonical import canonical_json, sha256_hex
from app.db import utcnow
from app.policies.exceptions import InvalidPolicy, PolicyNameReserved, PolicyNotFound, PolicyVersionConflict
from app.policies.models import PolicyVersion
from app.validation import policy as library

# plain syntax (no named groups): it is published in the OpenAPI document for every client's regex engine
REFERENCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}(@[1-9][0-9]{0,8})?$"
REFERENCE = re.compile(REFERENCE_PATTERN)

# The deployment mode of a job picks its policy when the job names none.
MODE_DEFAULT_POLICY = {
    "dev-only": "dev-only",
    "hybrid-split": "hybrid-split",
    "production-substitute": "production-substitute",
}


@dataclass(frozen=True)
class ResolvedPolicy:
    """One policy version, built in or uploaded, with its flat (resolved) form."""

    name: str
    version: int
    digest: str
    mode: str | None
    use_case: str | None
    description: str
    builtin: bool
    document: dict[str, Any]
    resolved: dict[str, Any]
    lineage: list[str]
    created_at: datetime | None = None

    @property
    def reference(self) -> str:
        return f"{self.name}@{self.version}"

    def policy(self) -> library.Policy:
        """The library's Policy, ready for ``evaluate`` (keeps the lineage of the upload)."""
        return to_policy(self.resolved, self.lineage)


def to_policy(resolved: dict[str, Any], lineage: list[str]) -> library.Policy:
    """A library Policy from a stored flat document and its lineage."""
    return dataclasses.replace(library.load_policy(resolved), lineage=tuple(lineage))


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``name`` or ``name@version``; InvalidPolicy otherwise."""
    if REFERENCE.fullmatch(reference) is None:
        raise InvalidPolicy(f"a policy reference is 'name' or 'name@version', got {reference!r}")
    name, _, version = reference.partition("@")
    return name, int(version) if version else None


# --- upload -----------------------------------------------------------------------------------


def upload_policy(*, session: Session, text: bytes) -> tuple[ResolvedPolicy, bool]:
    """Validate and store a policy document (YAML or JSON); returns (policy, created).

    Raises:
        InvalidPolicy: not YAML/JSON, not valid against the published JSON Schema, an unknown
            metric, or a base policy that does not exist.
        PolicyNameReserved: the name of a built-in policy.
        PolicyVersionConflict: this name and version already exist with another document.
    """
    doc = _parse(text)
    try:
        library.validate_document(doc)
    except library.PolicyError as exc:
        raise InvalidPolicy(str(exc)) from None
    name, version = doc["name"], doc["version"]
    if name in library.builtin_names():
        raise PolicyNameReserved(f"{name!r} is a built-in policy; upload yours under another name (it may extend {name!r})")
    content = sha256_hex(canonical_json(doc))
    existing = _row(session, name, version)
    if existing is not None:
        return _same_or_conflict(existing, content), False
    try:
        policy = library.load_policy(doc, resolver=resolver(session))
    except library.PolicyError as exc:
        raise InvalidPolicy(str(exc)) from None
    row = PolicyVersion(
        name=name,
        version=version,
        description=policy.description,
        mode=policy.mode,
        use_case=policy.use_case,
        document=doc,
        resolved=policy.to_dict(),
        lineage=list(policy.lineage),
        digest=policy.digest,
        content_sha256=content,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same version uploaded concurrently: decide as if it came first
        existing = _row(session, name, version)
        if existing is None:
            raise
        return _same_or_conflict(existing, content), False
    return _from_row(row), True


def _parse(text: bytes) -> dict[str, Any]:
    try:
        # Aliases are refused: a few bytes of nested aliases can expand into gigabytes.
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text)):
            raise InvalidPolicy("YAML aliases (*name) are not allowed in a policy document")
    except yaml.YAMLError as exc:
        raise InvalidPolicy(f"policy is not valid YAML/JSON: {exc}") from None
    try:
        doc = library.parse_document(text)
    except library.PolicyError as exc:
        raise InvalidPolicy(str(exc)) from None
    # plain JSON values only (YAML may give dates or integer keys)
    return json.loads(json.dumps(doc, default=str))


def _same_or_conflict(existing: PolicyVersion, content: str) -> ResolvedPolicy:
    if existing.content_sha256 != content:
        raise PolicyVersionConflict(
            f"policy {existing.name}@{existing.version} already exists with other content;"
            " versions are immutable: upload a new version",
            digest=existing.digest,
        )
    return _from_row(existing)


# --- reading ----------------------------------------------------------------------------------


def resolver(session: Session) -> library.Resolver:
    """A base-policy lookup for the library: uploaded versions (latest if no version); built-ins
    are the library's fallback."""

    def lookup(name: str, version: int | None) -> dict[str, Any]:
        row = _row(session, name, version) if version is not None else _latest(session, name)
        if row is None:
            raise LookupError(name)
        return row.resolved

    return lookup


def resolve(*, session: Session, reference: str) -> ResolvedPolicy:
    """The policy a reference names: ``name`` (its latest version) or ``name@version``."""
    name, version = parse_reference(reference)
    if name in library.builtin_names():
        return _builtin(name, version)
    row = _row(session, name, version) if version is not None else _latest(session, name)
    if row is None:
        raise PolicyNotFound(f"no policy {reference!r}")
    return _from_row(row)


def default_for_mode(*, session: Session, mode: str) -> ResolvedPolicy:
    return resolve(session=session, reference=MODE_DEFAULT_POLICY[mode])


def list_policies(*, session: Session) -> list[dict[str, Any]]:
    """One entry per policy name (built-ins first): its latest version and every version number."""
    items = []
    for name in library.builtin_names():
        latest = _builtin(name, None)
        items.append({"name": name, "builtin": True, "versions": library.builtin_versions(name), "latest": latest})
    rows = session.execute(
        select(PolicyVersion.name, PolicyVersion.version).order_by(PolicyVersion.name, PolicyVersion.version)
    ).all()
    versions: dict[str, list[int]] = {}
    for name, version in rows:
        versions.setdefault(name, []).append(version)
    for name, numbers in versions.items():
        row = _row(session, name, numbers[-1])
        assert row is not None
        items.append({"name": name, "builtin": False, "versions": numbers, "latest": _from_row(row)})
    return items


def list_versions(*, session: Session, name: str) -> list[ResolvedPolicy]:
    """Every version of policy ``name``, oldest first; PolicyNotFound if there is none."""
    if name in library.builtin_names():
        return [_builtin(name, v) for v in library.builtin_versions(name)]
    rows = session.scalars(select(PolicyVersion).where(PolicyVersion.name == name).order_by(PolicyVersion.version)).all()
    if not rows:
        raise PolicyNotFound(f"no policy named {name!r}")
    return [_from_row(r) for r in rows]


def get_version(*, session: Session, name: str, version: int) -> ResolvedPolicy:
    if name in library.builtin_names():
        return _builtin(name, version)
    row = _row(session, name, version)
    if row is None:
        raise PolicyNotFound(f"no policy {name}@{version}")
    return _from_row(row)


def _row(session: Session, name: str, version: int | None) -> PolicyVersion | None:
    return session.scalars(
        select(PolicyVersion).where(PolicyVersion.name == name, PolicyVersion.version == version)
    ).one_or_none()


def _latest(session: Session, name: str) -> PolicyVersion | None:
    newest = select(func.max(PolicyVersion.version)).where(PolicyVersion.name == name).scalar_subquery()
    return session.scalars(select(PolicyVersion).where(PolicyVersion.name == name, PolicyVersion.version == newest)).one_or_none()


def _from_row(row: PolicyVersion) -> ResolvedPolicy:
    return ResolvedPolicy(
        name=row.name,
        version=row.version,
        digest=row.digest,
        mode=row.mode,
        use_case=row.use_case,
        description=row.description,
        builtin=False,
        document=row.document,
        resolved=row.resolved,
        lineage=list(row.lineage),
        created_at=row.created_at,
    )


def _builtin(name: str, version: int | None) -> ResolvedPolicy:
    """A built-in at ``version`` (its newest if None): the current file or an archived version."""
    try:
        document = library.builtin_document(name, version)
    except library.PolicyError as exc:
        raise PolicyNotFound(f"no policy {name}@{version}: {exc}") from None
    policy = library.load_policy(document)  # the document just read, resolved (not read again)
    return ResolvedPolicy(
        name=policy.name,
        version=policy.version,
        digest=policy.digest,
        mode=policy.mode,
        use_case=policy.use_case,
        description=policy.description,
        builtin=True,
        document=document,
        resolved=policy.to_dict(),
        lineage=list(policy.lineage),
    )


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a policy document."""
    return library.json_schema()
