"""Anchor for the start-up cases of bench/compare.py: a hello-world typer app with two commands.

    python bench/anchor_typer.py --help
    python bench/anchor_typer.py hello --name World

It is what a bare typer CLI costs to start on this interpreter: import typer (and click), build
the app, parse the arguments, print. kctl's ``--help`` and ``render-callback-url`` are measured
against it. Written like kctl's own app (no completion, plain help), so the difference is what
kctl itself adds.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Hello-world anchor for kctl's start-up benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.command()
def hello(name: Annotated[str, typer.Option(help="Who to greet.")] = "World") -> None:
    """Say hello."""
    typer.echo(f"Hello {name}")


@app.command()
def goodbye(name: Annotated[str, typer.Option(help="Who to see off.")] = "World") -> None:
    """Say goodbye."""
    typer.echo(f"Goodbye {name}")


if __name__ == "__main__":
    app()
