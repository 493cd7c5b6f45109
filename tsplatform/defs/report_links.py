"""Links from asset metadata to the pages ``tsplatform serve`` serves under ``/charts``, so a click in
the Dagster UI opens the chart in the browser (``TSPLATFORM_PUBLIC_URL``); the ``path`` entries
beside them name the files for shell users."""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg

from tsplatform import settings

MAX_CHART_LINKS = 20  # per materialisation; the index page and the dashboard link to every chart


def report_link(page: str | os.PathLike, reports: str | os.PathLike) -> dg.MetadataValue:
    return dg.MetadataValue.url(settings.report_url(page, reports))


def chart_links(pages: Mapping[str, str | os.PathLike], reports: str | os.PathLike) -> dict[str, dg.MetadataValue]:
    """``chart_url <name>`` entries for the first ``MAX_CHART_LINKS`` pages."""
    return {f"chart_url {name}": report_link(page, reports) for name, page in list(pages.items())[:MAX_CHART_LINKS]}
