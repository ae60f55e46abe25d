"""The check commands: validate-config, schema, explain.

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import sys
from enum import StrEnum
from typing import Annotated

import typer

from kctl.cli.base import JsonFlag, OutputFile, app, command
from kctl.cli.dlt import DltRegistryOption
from kctl.cli.exits import write_output
from kctl.cli.help import CHECK
from kctl.errors import UsageError
from kctl.render.term import wants_color


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"
    sarif = "sarif"


@command(
    app,
    "validate-config",
    panel=CHECK,
    example="""
    kctl validate-config configs/
    kctl validate-config kctl.yaml --strict --format github
    kctl validate-config kctl.yaml --ignore KC204 --format sarif -o kctl.sarif
    """,
)
def validate_config(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...",
            help="Config files, directories (all *.yaml/*.yml below) or - for stdin.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, json, github, junit or sarif.",
            case_sensitive=False,
        ),
    ] = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    output_file: OutputFile = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            metavar="CODES",
            help="Only these rules (codes or prefixes, comma-separated or repeated):"
            " --select KC1,KC205.",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="CODES",
            help="Leave these rules out: --ignore KC204. In a file, '# kctl: ignore[KC204]' on"
            " the line (or alone on the line above) does the same.",
        ),
    ] = None,
    dlt_registry: DltRegistryOption = None,
) -> None:
    """Check provider configs: every finding with its code at file:line:col."""
    from kctl.cli.validateconfig import validate_config as run

    code = run(
        paths,
        fmt=fmt.value,
        strict=strict,
        output_file=output_file,
        select=select or (),
        ignore=ignore or (),
        dlt_registry=dlt_registry,
    )
    if code:
        raise typer.Exit(code)


@command(
    app,
    "schema",
    panel=CHECK,
    example="""
    kctl schema -o configs/kctl.schema.json
    """,
)
def schema(output_file: OutputFile = None) -> None:
    """Print the JSON Schema of the config format (for editors and other validators)."""
    import json

    from kctl.config.schema import json_schema

    write_output(json.dumps(json_schema(), indent=2) + "\n", output_file)


@command(
    app,
    "explain",
    panel=CHECK,
    example="""
    kctl explain KC108
    kctl explain --list
    """,
)
def explain(
    code: Annotated[
        str | None,
        typer.Argument(metavar="CODE", help="Rule code, such as KC108.", show_default=False),
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list", help="List every rule: code, severity, title.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """What a validate-config rule checks, why, and an example of the fix."""
    from kctl.render import explain as render

    if list_rules and code is not None:
        raise UsageError("give a rule code or --list, not both")
    if not list_rules and code is None:
        raise UsageError("give a rule code", "kctl explain KC108, or kctl explain --list")
    rule = render.find_rule(code) if code is not None else None
    if as_json:
        text = render.render_json(rule)
    elif rule is None:
        text = render.render_list()
    else:
        import shutil

        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else render.DEFAULT_WIDTH
        text = render.render_rule(rule, width=width, color=wants_color(sys.stdout))
    write_output(text, None)
