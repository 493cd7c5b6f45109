"""One dynamic partition per upload batch, added by the landing sensor."""

import dagster as dg

UPLOAD_BATCHES = "upload_batches"  # the partitions definition's name, for instance calls
upload_batches = dg.DynamicPartitionsDefinition(name=UPLOAD_BATCHES)
