"""What the read commands share: their reads go through ``tsplatform.read`` (one transaction, a
bounded wait for a writer's lock, never creating or migrating the warehouse, no Dagster import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

T = TypeVar("T")


def reading(query: Callable[[], T]) -> T:
    """``query()`` (a ``tsplatform.read`` call); its refusal (no warehouse, a writer holding the
    file too long, a bad setting) becomes the command's error message and exit status 1."""
    from tsplatform import read

    try:
        return query()
    except (read.ReadError, ValueError) as problem:
        raise click.ClickException(str(problem)) from problem
