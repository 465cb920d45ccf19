"""The one Settings object. Defaults give the embedded mode: SQLite and artifacts under ./pwsim-data,
jobs run by an in-process worker pool. ``PWSIM_DATABASE_URL`` and ``PWSIM_BROKER_URL`` switch to
PostgreSQL and Celery on Redis. Nothing else in the service reads ``os.environ``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DeploymentMode = Literal["dev-only", "hybrid-split", "production-substitute"]

PLACEHOLDER_SECRETS = frozenset({"changeme", "changethis", "secret", "password", "postgres"})


class Settings(BaseSettings):
    """Every setting is a ``PWSIM_<NAME>`` environment variable (a ``.env`` file is read too)."""

    model_config = SettingsConfigDict(env_prefix="PWSIM_", env_file=".env", extra="ignore")

    environment: str = Field("local", description="local, staging or production.")
    data_dir: Path = Field(Path("pwsim-data"), description="SQLite file, uploads, artifacts and keys.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir.")
    broker_url: str | None = Field(None, description="Celery broker (redis://...); unset: in-process pool.")
    celery_queue: str = Field("pwsim", description="Queue the API sends jobs to and workers consume.")
    worker_threads: int = Field(2, ge=1, description="Threads of the in-process pool (embedded mode).")
    worker_concurrency: int = Field(1, ge=1, description="Processes of `pwsim worker`.")
    max_upload_bytes: int = Field(512 * 1024 * 1024, ge=1, description="Largest accepted upload.")
    max_rows: int = Field(1_000_000, ge=1, description="Largest number of synthetic rows a job may ask for.")
    default_delta: float = Field(1e-9, gt=0, lt=1, description="Delta of a dataset budget when none is given.")
    job_lease_seconds: float = Field(120.0, gt=0, description="A running job whose lease lapses is reaped.")
    heartbeat_seconds: float = Field(10.0, gt=0, description="How often a running job renews its lease.")
    reaper_interval_seconds: float = Field(15.0, gt=0, description="How often the API looks for lost jobs.")
    max_job_attempts: int = Field(3, ge=1, description="Re-queues of a lost job before it is failed.")
    max_job_seconds: int = Field(6 * 3600, ge=1, description="Longest job; the broker visibility exceeds it.")
    signing_key_path: Path | None = Field(None, description="PEM Ed25519 private key; default data_dir/keys.")
    signing_key_passphrase: SecretStr | None = Field(None, description="Passphrase of signing_key_path.")
    default_mode: DeploymentMode = Field(
        "dev-only", description="Deployment mode of a job that names none; it picks the default policy."
    )
    holdout_fraction: float = Field(
        0.2, gt=0, le=0.5, description="Share of the real rows held out of fitting for the validation gates."
    )
    validation_max_rows: int = Field(
        50_000, ge=100, description="Most rows of each of fit, holdout and synthetic data the gates read (sampled)."
    )
    validation_threads: int = Field(1, ge=1, description="BLAS/OpenMP threads while the gates run.")
    max_policy_bytes: int = Field(262_144, ge=1, description="Largest accepted policy document.")
    migrate_on_start: bool | None = Field(
        None, description="Run migrations when `pwsim serve` starts; default only for the SQLite default."
    )
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "local":
            return self
        secrets = [self.signing_key_passphrase.get_secret_value()] if self.signing_key_passphrase else []
        for url in (self.database_url, self.broker_url):
            if url and "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:
                secrets.append(url.split("@", 1)[0].split("//", 1)[-1].split(":", 1)[1])
        if any(s.lower() in PLACEHOLDER_SECRETS for s in secrets):
            raise ValueError(f"placeholder secret in a {self.environment} environment: set a real one")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pwsim.db').resolve()}"

    @property
    def embedded(self) -> bool:
        """True when jobs run in this process (no broker configured)."""
        return not self.broker_url

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def work_dir(self) -> Path:
        """Scratch space of running jobs (the fit part of a split), removed when a job ends."""
        return self.data_dir / "work"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
