"""``python -m app.cli`` runs the ``pwsim`` command line."""

from app.cli import main

main()
