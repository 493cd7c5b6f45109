"""Dagster definitions, one folder per domain (autoloaded by ``tsplatform.definitions``)."""
