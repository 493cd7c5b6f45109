"""Entry point of the ``tsplatform`` command: one click group, one module per family of commands."""

import click


@click.group()
def main() -> None:
    """tsplatform: sales uploads, forecasts and a live sensor stream on Dagster."""
