"""One look at the landing folder, shared by the sensor and ``tsplatform ingest``."""

from dataclasses import dataclass

from tsplatform.ingest.registration import Registration, register_landed_files
from tsplatform.settings import DataPaths
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import uploads as upload_table


@dataclass
class LandingTick:
    registrations: list[Registration]
    waiting_batches: list[str]  # registered, not yet started: each is owed a run


def look_at_landing(paths: DataPaths, warehouse: Warehouse, settle_seconds: float | None = None) -> LandingTick:
    registrations = register_landed_files(paths, warehouse, settle_seconds=settle_seconds)
    with warehouse.transaction() as session:
        waiting = upload_table.batches_waiting(session)
    return LandingTick(registrations, waiting)
