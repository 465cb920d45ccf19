"""Service commands: ``pwsim serve``, ``pwsim worker``, ``pwsim verify``."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Attach the service commands to the top-level group."""
