"""Engine commands: ``pwsim schema infer``, ``pwsim plan``, ``pwsim synth``."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Attach the engine commands to the top-level group."""
