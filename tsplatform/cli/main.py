"""Entry point of the ``tsplatform`` command: one click group, one module per family of commands.

The group imports a command's module only when that command runs (click's lazy-loading pattern):
``tsplatform upload`` is timed against a plain copy + hash, and the other families' imports were
half of its start-up.
"""

import importlib

import click

# command name -> (module, attribute), in the order ``tsplatform --help`` lists them
COMMANDS = {
    "upload": ("tsplatform.cli.invoices", "upload"),
    "ingest": ("tsplatform.cli.invoices", "ingest"),
    "uploads": ("tsplatform.cli.invoices", "uploads"),
    "invoices": ("tsplatform.cli.invoices", "invoices"),
    "rejected": ("tsplatform.cli.invoices", "rejected"),
    "generate-sales": ("tsplatform.cli.samples", "generate_sales"),
    "forecast": ("tsplatform.cli.forecasts", "forecast"),
    "forecasts": ("tsplatform.cli.forecasts", "forecasts"),
    "stream": ("tsplatform.cli.stream", "stream"),
    "db": ("tsplatform.cli.db", "db"),
    "serve": ("tsplatform.cli.serve", "serve"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (``COMMANDS``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        if command.name != cmd_name:
            raise RuntimeError(f"{module}.{attribute} is the command {command.name!r}, listed as {cmd_name!r}")
        return command


@click.group(cls=LazyGroup)
def main() -> None:
    """tsplatform: sales uploads, forecasts and a live sensor stream on Dagster."""
