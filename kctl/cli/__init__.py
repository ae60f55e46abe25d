"""The command line: typer options in, one core call, a renderer out."""

from kctl.cli.app import COMPLETE_VAR, app, main

__all__ = ["COMPLETE_VAR", "app", "main"]
