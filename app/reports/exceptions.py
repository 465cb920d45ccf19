"""Report errors a caller can cause."""

from __future__ import annotations

from app.errors import NotFound


class ReportNotFound(NotFound):
    code = "report_not_found"
    title = "No validation report"
