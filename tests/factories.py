"""Small builders of test data: tables, schemas, uploads and database rows (no mocks)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.datasets.models import Dataset, DatasetSchemaVersion
from app.db import utcnow
from app.db_types import new_id
from app.jobs.models import FINAL_STATUSES, Job
from app.ledger import service as ledger_service

REPO = Path(__file__).resolve().parents[1]
ADULT_SCHEMA = REPO / "examples" / "adult-schema.json"

SMALL_CSV = (
    "age,color,score\n" + "".join(f"{20 + i % 50},{['red', 'green', 'blue'][i % 3]},{(i * 7) % 100}\n" for i in range(60))
).encode()


def small_schema(**column_overrides: Any) -> dict[str, Any]:
    """A declared schema matching SMALL_CSV."""
    return {
        "format_version": 1,
        "name": "small",
        "columns": [
            {"name": "age", "type": "integer", "domain": {"lower": 0, "upper": 100}},
            {"name": "color", "type": "categorical", "domain": {"categories": ["red", "green", "blue"]}},
            {"name": "score", "type": "integer", "domain": {"lower": 0, "upper": 100}},
        ],
    }


def adult_sample(path: Path, rows: int, out: Path) -> Path:
    """The first ``rows`` data rows of adult.csv (with its header)."""
    with path.open() as src:
        lines = [next(src) for _ in range(rows + 1)]
    out.write_text("".join(lines))
    return out


def upload(
    client: Any,
    *,
    content: bytes = SMALL_CSV,
    filename: str = "small.csv",
    epsilon: float | str | None = 3.0,
    delta: float | str | None = None,
    schema: dict[str, Any] | str | None = None,
    name: str | None = "small",
) -> Any:
    """POST /v1/datasets as multipart; returns the response."""
    data: dict[str, str] = {}
    if epsilon is not None:
        data["epsilon"] = str(epsilon)
    if delta is not None:
        data["delta"] = str(delta)
    if name is not None:
        data["name"] = name
    if schema is not None:
        data["schema"] = schema if isinstance(schema, str) else json.dumps(schema)
    return client.post("/v1/datasets", data=data, files={"file": (filename, io.BytesIO(content), "text/csv")})


def create_dataset(client: Any, **kwargs: Any) -> dict[str, Any]:
    response = upload(client, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_job(client: Any, job_id: str, *, statuses: tuple[str, ...] = FINAL_STATUSES, timeout: float = 300) -> dict:
    """Poll GET /v1/jobs/{id} until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s: {job}")
        time.sleep(0.2)


def snapshot(settings: Settings) -> dict[str, Any]:
    """Every row of every table and every stored file: compare before/after a rejected request."""
    engine = create_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            tables = {
                name: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{name}"')).all()))
                for name in inspect(conn).get_table_names()
                if name != "alembic_version"
            }
    finally:
        engine.dispose()
    files = sorted(
        (str(p.relative_to(settings.data_dir)), p.stat().st_size)
        for p in settings.data_dir.rglob("*")
        if p.is_file() and p.parent.name != "uploads" and not p.name.startswith("pwsim.db")
    )
    return {"tables": tables, "files": files}


def staged_uploads(settings: Settings) -> list[Path]:
    return list(settings.uploads_dir.glob("*")) if settings.uploads_dir.exists() else []


# --- rows for service-level tests -----------------------------------------------------------------


def make_dataset(session: Session, *, epsilon: float = 1.0, delta: float = 1e-9, rows: int = 100) -> Dataset:
    """A dataset row, its schema version and its budget (no file: for ledger and job tests)."""
    dataset = Dataset(
        id=new_id(),
        name="factory",
        format="csv",
        filename="f.csv",
        size_bytes=10,
        sha256="0" * 64,
        rows=rows,
        storage_path=None,
        current_schema_version=1,
        created_at=utcnow(),
    )
    session.add(dataset)
    session.flush()
    session.add(DatasetSchemaVersion(dataset_id=dataset.id, version=1, source="declared", document=small_schema()))
    ledger_service.open_budget(session=session, dataset_id=dataset.id, epsilon=epsilon, delta=delta)
    session.flush()
    return dataset


def make_job(session: Session, dataset: Dataset, *, rho: float = 0.001, status: str = "queued", **values: Any) -> Job:
    fields: dict[str, Any] = {
        "schema_version": 1,
        "engine": "pwsim",
        "epsilon": 1.0,
        "delta": 1e-9,
        "rows": 10,
        "progress": 0.0,
        "timings": {},
        "created_at": utcnow(),
        "dispatched_at": utcnow(),
        **values,
    }
    job = Job(dataset_id=dataset.id, rho=rho, status=status, **fields)
    session.add(job)
    session.flush()
    return job


def make_dataset_with_file(session: Session, settings: Settings, *, epsilon: float = 2.0) -> Dataset:
    """A dataset whose source file (SMALL_CSV, declared schema) is really stored, as an upload would."""
    dataset = make_dataset(session, epsilon=epsilon, rows=60)
    relative = Path("sources") / dataset.id / "source.csv"
    (settings.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / relative).write_bytes(SMALL_CSV)
    dataset.storage_path = str(relative)
    session.flush()
    return dataset
