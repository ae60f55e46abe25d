"""Build only the command that runs: start-up is a product feature.

typer turns every command's signature into click parameters before it looks at the command
line; kctl has twenty commands, send-test alone about fifty options, and a `kctl
validate-config` or `kctl --help` paid for all of them. Here the root group holds a mapping
that builds a command (or a group such as ``secrets``) the first time it is asked for, and
tells the help page a command's description and panel without building it.
"""

import copy
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer import _click
from typer.main import (
    get_command_from_info,
    get_command_name,
    get_group,
    get_group_from_info,
    solve_typer_info_defaults,
)
from typer.models import CommandInfo, DefaultPlaceholder, TyperInfo


def _value(setting: Any) -> Any:
    return setting.value if isinstance(setting, DefaultPlaceholder) else setting


class LazyCommands(MutableMapping[str, _click.Command]):
    """Name -> click command, built on first use, in the order the commands were registered."""

    def __init__(self, app: typer.Typer) -> None:
        self._app = app
        self._infos: dict[str, CommandInfo | TyperInfo] = {}
        for info in app.registered_commands:
            assert info.callback is not None
            self._infos[info.name or get_command_name(info.callback.__name__)] = info
        for group in app.registered_groups:
            name = solve_typer_info_defaults(group).name
            assert isinstance(name, str)
            self._infos[name] = group
        self._built: dict[str, _click.Command] = {}

    def describe(self, name: str) -> tuple[str | None, str | None]:
        """(help text, help panel) of ``name``, without building it."""
        info = self._infos[name]
        if isinstance(info, TyperInfo):
            solved = solve_typer_info_defaults(info)
            return solved.help, solved.rich_help_panel
        assert info.callback is not None
        help_text = info.help if info.help is not None else inspect.getdoc(info.callback)
        return help_text, _value(info.rich_help_panel)

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            info = self._infos[name]  # KeyError for an unknown name, as a dict would
            if isinstance(info, TyperInfo):
                self._built[name] = get_group_from_info(
                    info,
                    pretty_exceptions_short=self._app.pretty_exceptions_short,
                    rich_markup_mode=self._app.rich_markup_mode,
                    suggest_commands=self._app.suggest_commands,
                )
            else:
                self._built[name] = get_command_from_info(
                    info,
                    pretty_exceptions_short=self._app.pretty_exceptions_short,
                    rich_markup_mode=self._app.rich_markup_mode,
                )
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._built[name] = command
        self._infos.setdefault(name, CommandInfo(name=name))

    def __delitem__(self, name: str) -> None:
        del self._infos[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)


def lazy_group(app: typer.Typer) -> _click.Command:
    """``typer.main.get_command(app)``, with the commands built only when used."""
    shell = copy.copy(app)
    shell.registered_commands = []
    shell.registered_groups = []
    group = get_group(shell)  # the root's own options and callback only
    group.commands = LazyCommands(app)
    return group
