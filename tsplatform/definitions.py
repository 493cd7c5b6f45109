"""The code location: every domain under ``tsplatform/defs`` loaded into one ``Definitions``.

Jobs without an executor of their own run on the multiprocess executor with a heartbeat
(``run_heartbeat``), so a run whose worker dies can be told from one that is still going.
"""

from pathlib import Path

import dagster as dg

from tsplatform.defs.run_heartbeat import multiprocess_executor_with_heartbeat


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent),
        dg.Definitions(executor=multiprocess_executor_with_heartbeat),
    )
