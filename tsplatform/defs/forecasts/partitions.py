"""One dynamic partition per category, added when a category first appears in the invoice table."""

import dagster as dg

category_partitions = dg.DynamicPartitionsDefinition(name="categories")
