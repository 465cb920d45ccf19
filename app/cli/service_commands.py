"""Service commands: ``pwsim serve``, ``pwsim worker``, ``pwsim verify``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="API processes (scale-out mode).")
@click.option("--log-level", default=None, help="Default: PWSIM_LOG_LEVEL.")
def serve(host: str, port: int, workers: int, log_level: str | None) -> None:
    """Run the HTTP API (embedded mode: also runs the jobs and migrates the SQLite database)."""
    import uvicorn

    from app.config import get_settings

    settings = get_settings()
    if settings.embedded and workers != 1:
        raise click.UsageError("embedded mode runs jobs in the API process: use one worker, or set PWSIM_BROKER_URL")
    click.echo(
        f"PWSIM service on http://{host}:{port} (docs at /docs); data in {settings.data_dir.resolve()}; "
        f"jobs {'in-process' if settings.embedded else 'via ' + settings.celery_queue + ' queue'}",
        err=True,
    )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=(log_level or settings.log_level).lower(),
    )


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--concurrency", type=int, default=None, help="Worker processes (default PWSIM_WORKER_CONCURRENCY).")
@click.option("--beat/--no-beat", default=False, help="Also run the periodic reaper schedule in this worker.")
@click.option("--loglevel", default="INFO", show_default=True)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(concurrency: int | None, beat: bool, loglevel: str, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker for jobs (needs PWSIM_BROKER_URL and PWSIM_DATABASE_URL)."""
    from app.config import get_settings

    settings = get_settings()
    if settings.embedded:
        raise click.UsageError("set PWSIM_BROKER_URL (redis://...) to run workers; embedded mode needs none")
    from workers.celery_app import celery_app

    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--queues={settings.celery_queue}",
        f"--concurrency={concurrency or settings.worker_concurrency}",
        *(["--beat"] if beat else []),
        *celery_args,
    ]
    celery_app.worker_main(argv)


@click.command()
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM Ed25519 public key (GET /v1/signing-keys/{key_id}.pem).",
)
def verify(data_file: Path, manifest: Path, public_key: Path) -> None:
    """Verify offline that DATA_FILE is the artifact MANIFEST.json describes and signs.

    MANIFEST.json is the body of GET /v1/artifacts/{id}. Exits 0 when the signature, the key id,
    the sha256 and the size all match; 1 on any mismatch; 2 on unusable input.
    """
    from app.artifacts.manifest import load_document, verify_files

    try:
        document = load_document(manifest)
    except (OSError, ValueError) as exc:
        click.echo(f"FAILED: cannot read {manifest}: {exc}", err=True)
        sys.exit(2)
    if not isinstance(document, dict):
        click.echo(f"FAILED: {manifest} is not a JSON object", err=True)
        sys.exit(2)
    problems = verify_files(data_file, document, public_key.read_bytes())
    if problems:
        for problem in problems:
            click.echo(f"FAILED: {problem}", err=True)
        sys.exit(1)
    m = document["manifest"]
    click.echo(
        json.dumps(
            {
                "verified": True,
                "artifact_id": m.get("artifact_id"),
                "sha256": m.get("sha256"),
                "key_id": m.get("key_id"),
                "rows": m.get("rows"),
                "privacy": (m.get("privacy") or {}).get("charged"),
            }
        )
    )


def register(group: click.Group) -> None:
    """Attach the service commands to the top-level group."""
    group.add_command(serve)
    group.add_command(worker)
    group.add_command(verify)
