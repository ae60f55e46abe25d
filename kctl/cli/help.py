"""Help that reads well at any width: commands grouped by what they are for, each described in
full (never cut to "..."), an example per command, and the exit codes.

click's stock formatter shortens a command's description to fit one row and caps the page at
80 columns; kctl's descriptions are one sentence each, so they are wrapped instead. Plain text
only: rich would cost ``kctl --help`` more than the rest of its start-up.
"""

import inspect
from collections.abc import Sequence

from typer import _click
from typer._click._compat import term_len
from typer._click._textwrap import TextWrapper
from typer._click.formatting import iter_rows, measure_table
from typer.core import TyperCommand, TyperGroup

from kctl.errors import EXIT_CODES

CHECK, TEST, SET_UP, SERVERS = "Check", "Test", "Set up", "Servers"
PANELS = (CHECK, TEST, SET_UP, SERVERS)
GLOBAL_OPTIONS = "--color auto|always|never, --traceback, -h/--help (anywhere on the line)"
# the codes a command's help names in one line; the whole table is in kctl --help
_SHORT_CODES = (
    "0 ok, 1 findings, 2 usage, 3 secret, 4 network, 5 rejected, 6 provider error, 7 no report"
)


def _wrap(text: str, width: int, indent: str = "") -> str:
    """click's paragraph-preserving wrap (a paragraph after a line holding only ``\\b`` stays
    as written), except that no word is split: click breaks "--header-param" after the
    hyphen, and a flag cut in two cannot be searched for or pasted."""
    wrapper = TextWrapper(
        max(width, 20),
        initial_indent=indent,
        subsequent_indent=indent,
        replace_whitespace=False,
        break_on_hyphens=False,
        break_long_words=False,
    )
    out = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = paragraph.splitlines()
        if lines and lines[0].strip() == "\b":
            out.append("\n".join(indent + line for line in lines[1:]))
        else:
            out.append(wrapper.fill(" ".join(line.strip() for line in lines)))
    return "\n\n".join(out)


class HelpFormatter(_click.HelpFormatter):
    def write_text(self, text: str) -> None:
        self.write(_wrap(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        first_col = min(measure_table(rows)[0], col_max) + col_spacing
        for first, second in iter_rows(rows, 2):
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if term_len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - term_len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = _wrap(second, max(self.width - first_col - 2, 10)).splitlines() or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class Context(_click.Context):
    formatter_class = HelpFormatter


def first_paragraph(help_text: str | None) -> str:
    """A command's description for a list: its first paragraph, on one line."""
    text = inspect.cleandoc(help_text or "").partition("\f")[0]
    paragraph = text.split("\n\n", 1)[0].replace("\b", "")
    return " ".join(paragraph.split())


def _examples(formatter: _click.HelpFormatter, epilog: str | None) -> None:
    lines = [line for line in inspect.cleandoc(epilog or "").splitlines() if line.strip()]
    if not lines:
        return
    with formatter.section("Examples"):
        # kept as written: a wrapped command line cannot be pasted
        for line in lines:
            formatter.write(" " * formatter.current_indent + line + "\n")


def _usage_pieces(command: _click.Command, ctx: _click.Context) -> list[str]:
    # typer prints a required argument as {NAME}; the convention is NAME, and [NAME] when optional
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            pieces.extend(param.get_usage_pieces(ctx))
            continue
        name = param.metavar or (param.name or "").upper()
        if param.nargs != 1 and not name.endswith("..."):
            name += "..."
        pieces.append(name if param.required else f"[{name}]")
    return pieces


class KctlCommand(TyperCommand):
    """A command whose epilog is its examples, followed by the exit codes and global options."""

    context_class = Context

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_epilog(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _examples(formatter, self.epilog)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(f"Exit codes: {_SHORT_CODES} (all: kctl --help).")
            formatter.write_text(f"Global options: {GLOBAL_OPTIONS}.")


class KctlGroup(TyperGroup):
    """The root and the command groups: commands listed under their panel, described in full."""

    context_class = Context

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # the names alone: a lazy mapping builds no command for it

    def _describe(self, ctx: _click.Context, name: str) -> tuple[str | None, str | None] | None:
        describe = getattr(self.commands, "describe", None)
        if describe is not None:  # kctl.cli.lazy: from the registration, nothing built
            found: tuple[str | None, str | None] = describe(name)
            return found
        command = self.get_command(ctx, name)
        if command is None or command.hidden:
            return None
        return command.help, getattr(command, "rich_help_panel", None)

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        by_panel: dict[str, list[tuple[str, str]]] = {}
        for name in self.list_commands(ctx):
            described = self._describe(ctx, name)
            if described is None:
                continue
            help_text, panel = described
            by_panel.setdefault(panel or "Commands", []).append((name, first_paragraph(help_text)))
        order = [p for p in PANELS if p in by_panel] + [p for p in by_panel if p not in PANELS]
        for panel in order:
            with formatter.section(panel):
                formatter.write_dl(by_panel[panel], col_max=22)

    def format_epilog(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _examples(formatter, self.epilog)
        if ctx.parent is not None:  # a group such as secrets: the table is on the root's page
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(f"Exit codes: {_SHORT_CODES} (all: kctl --help).")
            return
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(code), meaning) for code, meaning in EXIT_CODES])
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(
                "--traceback and --color work anywhere on the command line; NO_COLOR and"
                " FORCE_COLOR are honoured."
            )
