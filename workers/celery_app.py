"""The Celery application, built from Settings. No business logic lives here."""

from __future__ import annotations

from celery import Celery

from app.config import Settings, get_settings


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("pwsim", broker=settings.broker_url, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # job state lives in the database, not in Celery results
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.celery_queue,
        task_routes={"pwsim.*": {"queue": settings.celery_queue}},
        # Redis redelivers an unacknowledged message after the visibility timeout: it must be
        # longer than the longest job, or a healthy long job would be run twice.
        broker_transport_options={"visibility_timeout": settings.max_job_seconds + 3600},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "pwsim-reap-jobs": {"task": "pwsim.reap_jobs", "schedule": settings.reaper_interval_seconds},
        },
    )
    return app


celery_app = make_celery()
