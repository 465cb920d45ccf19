"""HTTP routes of validation policies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.orm import Session

from app.db import get_session
from app.policies import service
from app.policies.exceptions import PolicyMediaType, PolicyTooLarge
from app.policies.schemas import PolicyList, PolicyRead, PolicySummary, PolicyVersionList

router = APIRouter(tags=["policies"])

SessionDep = Annotated[Session, Depends(get_session)]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

MEDIA_TYPES = frozenset({"application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "A policy document, JSON or YAML, valid against `GET /v1/policy-schema`.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PolicyDocument"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


def _openapi_components() -> dict[str, Any]:
    """The policy JSON Schema as named OpenAPI components (its $defs become siblings)."""
    schema = service.json_schema()
    names = {"gate": "PolicyGate", "business": "PolicyBusiness"}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: ("#/components/schemas/" + names[v.rsplit("/", 1)[1]] if k == "$ref" else rewrite(v)) for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    doc = {k: rewrite(v) for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}
    return {"PolicyDocument": doc, **{names[k]: rewrite(v) for k, v in schema["$defs"].items()}}


EXTRA_SCHEMAS = _openapi_components()


async def read_policy_body(request: Request) -> bytes:
    """FastAPI dependency: the raw document, refused past the size limit while it streams in."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise PolicyMediaType("send the policy as application/json or application/yaml")
    limit = request.app.state.settings.max_policy_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PolicyTooLarge(f"a policy document may have at most {limit} bytes")
    return bytes(body)


def to_read(p: service.ResolvedPolicy) -> PolicyRead:
    return PolicyRead(
        name=p.name,
        version=p.version,
        reference=p.reference,
        builtin=p.builtin,
        digest=p.digest,
        mode=p.mode,
        use_case=p.use_case,
        description=p.description,
        lineage=p.lineage,
        document=p.document,
        resolved=p.resolved,
        created_at=p.created_at,
    )


@router.post(
    "/policies",
    status_code=status.HTTP_201_CREATED,
    response_model=PolicyRead,
    name="create_policy",
    openapi_extra=UPLOAD_BODY,
    responses={200: {"model": PolicyRead, "description": "This exact version was already stored."}},
)
def create_policy(response: Response, session: SessionDep, body: Annotated[bytes, Depends(read_policy_body)]) -> PolicyRead:
    """Upload a policy version (immutable: the same name and version with other content is a 409)."""
    policy, created = service.upload_policy(session=session, text=body)
    response.headers["Location"] = f"/v1/policies/{policy.name}/{policy.version}"
    if not created:
        response.status_code = status.HTTP_200_OK
    return to_read(policy)


@router.get("/policies", response_model=PolicyList, name="list_policies")
def list_policies(session: SessionDep) -> PolicyList:
    """Every policy, built-in and uploaded, with its versions and its latest version."""
    return PolicyList(
        items=[
            PolicySummary(name=i["name"], builtin=i["builtin"], versions=i["versions"], latest=to_read(i["latest"]))
            for i in service.list_policies(session=session)
        ]
    )


@router.get("/policy-schema", name="get_policy_schema", response_model=dict[str, Any])
def get_policy_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) that every policy document must satisfy."""
    return service.json_schema()


@router.get("/policies/{name}", response_model=PolicyVersionList, name="list_policy_versions")
def list_policy_versions(name: Annotated[str, Path(pattern=NAME_PATTERN)], session: SessionDep) -> PolicyVersionList:
    """Every version of one policy, oldest first."""
    versions = service.list_versions(session=session, name=name)
    return PolicyVersionList(name=name, builtin=versions[0].builtin, items=[to_read(v) for v in versions])


@router.get("/policies/{name}/{version}", response_model=PolicyRead, name="get_policy_version")
def get_policy_version(
    name: Annotated[str, Path(pattern=NAME_PATTERN)], version: Annotated[int, Path(ge=1)], session: SessionDep
) -> PolicyRead:
    """One policy version: its document, its flat form and its digest."""
    return to_read(service.get_version(session=session, name=name, version=version))
