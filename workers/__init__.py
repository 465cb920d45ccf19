"""Celery worker side of the service: the app built from Settings and thin tasks."""
