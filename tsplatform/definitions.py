"""The code location: every domain under ``tsplatform/defs`` loaded into one ``Definitions``."""

import dagster as dg

import tsplatform.defs


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_defs(defs_root=tsplatform.defs)
