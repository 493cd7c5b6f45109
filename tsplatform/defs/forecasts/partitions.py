"""One dynamic partition per category, added when a category first appears in the invoice table."""

import dagster as dg

CATEGORY_PARTITIONS = "categories"  # the partitions definition's name, for instance calls
category_partitions = dg.DynamicPartitionsDefinition(name=CATEGORY_PARTITIONS)
