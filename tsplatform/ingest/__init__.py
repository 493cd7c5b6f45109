"""The invoice path's ingest, without Dagster: an uploaded CSV from landing folder to versioned rows.

Registration (hash, de-duplicate, move), reading, pandera validation with quarantine, imputation,
the one-transaction write and the rule of which open batch is owed another run, each in its own
module. The sensor stream's ingest is not here: it reads cursor ranges of a stream and lives beside
the stream (``tsplatform.stream.range_ingest``).
"""
