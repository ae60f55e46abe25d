"""The --dlt-registry option, shared by the commands that hold SMS against India's DLT."""

from typing import Annotated

import typer

DltRegistryOption = Annotated[
    str | None,
    typer.Option(
        "--dlt-registry",
        metavar="FILE",
        help="DLT registrations CSV (columns template_id, entity_id, header, template_text):"
        " SMS templates must match it. Example: --dlt-registry dlt-registrations.csv.",
        show_default=False,
    ),
]
