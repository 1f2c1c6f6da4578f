"""The options an installed console script's (sub)command accepts, read from its click command.

In process, because a ``--help`` subprocess per CLI re-imports Dagster (seconds each).
"""

from __future__ import annotations

import functools
import inspect
from importlib.metadata import entry_points

import click


@functools.cache
def cli_options(*command: str) -> frozenset[str]:
    """Every option spelling of ``command`` (a console script name, then subcommands)."""
    (script,) = entry_points(group="console_scripts", name=command[0])
    loaded = script.load()
    # Dagster's scripts point at a main() wrapping the module's click group ``cli``.
    cli = loaded if isinstance(loaded, click.Command) else vars(inspect.getmodule(loaded))["cli"]
    context = click.Context(cli)
    for name in command[1:]:
        assert isinstance(cli, click.Group), f"{command[0]} has no subcommands"
        found = cli.get_command(context, name)
        assert found is not None, f"{' '.join(command)}: no such subcommand {name}"
        cli = found
    return frozenset(opt for param in cli.params for opt in (*param.opts, *param.secondary_opts))
