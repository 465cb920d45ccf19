"""The ``pwsim`` command line: engine commands (schema, plan, synth) and service commands."""

from __future__ import annotations

import click

from app.cli import engine_commands, service_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pwsim-service")
def main() -> None:
    """PWSIM: privacy-weighted, differentially private synthetic tabular data."""


engine_commands.register(main)
service_commands.register(main)
