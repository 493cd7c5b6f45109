"""The ``tsplatform`` command line."""

from tsplatform.cli.main import main

__all__ = ["main"]
