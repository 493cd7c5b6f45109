"""One dynamic partition per upload batch, added by the landing sensor."""

import dagster as dg

upload_batches = dg.DynamicPartitionsDefinition(name="upload_batches")
