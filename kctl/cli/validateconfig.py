"""validate-config's options to one core call and its renderer, without typer.

The typer command (``kctl.cli.check.validate_config``) and the fast lane (``kctl.cli.fast``),
which takes CI's usual calls (paths, --format, --strict, --output-file, --select, --ignore,
--dlt-registry) without importing typer, both call ``validate_config`` here: the same calls,
the same bytes, the same exit code on either path. Errors are raised for the entry point.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: the fast lane would pay for importing it
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def validate_config(
    paths: Sequence[str],
    *,
    fmt: str = "text",
    strict: bool = False,
    output_file: Path | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    dlt_registry: str | None = None,
) -> int:
    """Check ``paths``, write the report in ``fmt`` (a summary line on stderr when the report
    is not text on stdout), and return the exit code: 1 when the run failed, else 0."""
    from kctl.cli.exits import stderr, write_output
    from kctl.config.selection import Selection, parse_codes
    from kctl.config.validate import validate_paths
    from kctl.render.findings import render_report, text_lines
    from kctl.render.term import wants_color

    selection = Selection(parse_codes(select, "--select"), parse_codes(ignore, "--ignore"))
    report = validate_paths(paths, strict=strict, dlt_registry=dlt_registry, selection=selection)
    if fmt == "text" and output_file is None:  # for people: written as it is made, in colour
        sys.stdout.writelines(text_lines(report, wants_color(sys.stdout)))
        sys.stdout.flush()
    else:  # for machines: one document, and the counts on stderr for the log
        write_output(render_report(report, fmt), output_file)
        stderr(
            f"kctl: {report.error_count} error(s), {report.warning_count} warning(s)"
            f" in {len(report.files)} file(s)"
        )
    return 1 if report.failed else 0
