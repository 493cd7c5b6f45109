"""The warehouse tables, as ordered migrations.

Every table of the project is created here and only here, in portable SQL that DuckDB and
PostgreSQL both accept (a storage setting only one database has is a migration ``only_on`` it).
A database records the migrations it has applied in ``schema_migrations``, so an existing
warehouse is upgraded in place, never dropped: add a new migration to the end of ``MIGRATIONS``;
never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass

UPLOAD_STATUSES = ("uploaded", "processing", "completed", "failed", "duplicate")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    only_on: str | None = None  # a ``Warehouse.dialect``: elsewhere the version is recorded, nothing run

    def statements_for(self, dialect: str) -> tuple[str, ...]:
        return self.statements if self.only_on in (None, dialect) else ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "invoice path: upload_metadata, invoice_data, rejected_rows",
        (
            """
            CREATE TABLE IF NOT EXISTS upload_metadata (
                batch_num VARCHAR PRIMARY KEY,
                original_filename VARCHAR NOT NULL,
                stored_filename VARCHAR NOT NULL,
                file_hash VARCHAR NOT NULL,
                file_size_bytes BIGINT NOT NULL,
                uploaded_at TIMESTAMP NOT NULL,
                status VARCHAR NOT NULL,
                num_total_rows INTEGER NOT NULL DEFAULT 0,
                num_rejected_rows INTEGER NOT NULL DEFAULT 0,
                num_missing_rows INTEGER NOT NULL DEFAULT 0,
                num_imputed_rows INTEGER NOT NULL DEFAULT 0,
                num_duplicate_key_rows INTEGER NOT NULL DEFAULT 0,
                num_inserted_rows INTEGER NOT NULL DEFAULT 0,
                num_updated_rows INTEGER NOT NULL DEFAULT 0,
                num_unchanged_rows INTEGER NOT NULL DEFAULT 0,
                error_log VARCHAR,
                column_mapping VARCHAR,
                date_format VARCHAR,
                encoding VARCHAR,
                delimiter VARCHAR,
                extra_columns VARCHAR,
                duplicate_of VARCHAR,
                run_id VARCHAR,
                started_at TIMESTAMP,
                finished_at TIMESTAMP
            )
            """,
            "CREATE INDEX IF NOT EXISTS upload_metadata_file_hash ON upload_metadata (file_hash)",
            """
            CREATE TABLE IF NOT EXISTS invoice_data (
                date DATE NOT NULL,
                product_id VARCHAR NOT NULL,
                category VARCHAR NOT NULL,
                sales DOUBLE PRECISION NOT NULL,
                is_imputed BOOLEAN NOT NULL,
                batch_num VARCHAR NOT NULL,
                file_hash VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                version INTEGER NOT NULL,
                PRIMARY KEY (date, product_id, category)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS rejected_rows (
                batch_num VARCHAR NOT NULL,
                line_number INTEGER NOT NULL,
                raw_date VARCHAR,
                raw_product_id VARCHAR,
                raw_category VARCHAR,
                raw_sales VARCHAR,
                raw_record VARCHAR NOT NULL,
                reason VARCHAR NOT NULL,
                rejected_at TIMESTAMP NOT NULL,
                PRIMARY KEY (batch_num, line_number)
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        2,
        "forecast path: daily_category_sales, forecast_data, forecast_metrics",
        (
            """
            CREATE TABLE IF NOT EXISTS daily_category_sales (
                category VARCHAR NOT NULL,
                date DATE NOT NULL,
                sales DOUBLE PRECISION NOT NULL,
                num_invoice_rows INTEGER NOT NULL,
                PRIMARY KEY (category, date)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS forecast_data (
                forecast_date DATE NOT NULL,
                category VARCHAR NOT NULL,
                model_type VARCHAR NOT NULL,
                forecast_value DOUBLE PRECISION NOT NULL,
                lower_bound DOUBLE PRECISION NOT NULL,
                upper_bound DOUBLE PRECISION NOT NULL,
                is_best BOOLEAN NOT NULL,
                interval_level DOUBLE PRECISION NOT NULL,
                flag VARCHAR,
                created_at TIMESTAMP NOT NULL,
                run_id VARCHAR,
                PRIMARY KEY (forecast_date, category, model_type)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS forecast_metrics (
                category VARCHAR NOT NULL,
                model_type VARCHAR NOT NULL,
                origin DATE NOT NULL,
                horizon INTEGER NOT NULL,
                smape DOUBLE PRECISION,
                mase DOUBLE PRECISION,
                coverage DOUBLE PRECISION,
                num_points INTEGER NOT NULL,
                is_best BOOLEAN NOT NULL,
                created_at TIMESTAMP NOT NULL,
                run_id VARCHAR,
                PRIMARY KEY (category, model_type, origin)
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        3,
        "sensor stream: sensor_readings, rejected_readings, sensor_stream_ranges, sensor_stats, "
        "sensor_smoothed, sensor_anomalies, sensor_forecast",
        (
            # One row per reading; (segment, line_offset) is where its line is in the stream, so a
            # re-delivered line is recognised as the same reading.
            """
            CREATE TABLE IF NOT EXISTS sensor_readings (
                sensor_id VARCHAR NOT NULL,
                ts TIMESTAMP NOT NULL,
                value DOUBLE PRECISION NOT NULL,
                segment VARCHAR NOT NULL,
                line_offset BIGINT NOT NULL,
                run_id VARCHAR,
                stored_at TIMESTAMP NOT NULL,
                PRIMARY KEY (sensor_id, ts)
            )
            """,
            # Stream lines that did not become a reading: malformed, torn, or a second reading
            # for a (sensor_id, ts) that is already stored.
            """
            CREATE TABLE IF NOT EXISTS rejected_readings (
                segment VARCHAR NOT NULL,
                line_offset BIGINT NOT NULL,
                reason VARCHAR NOT NULL,
                line VARCHAR,
                sensor_id VARCHAR,
                ts TIMESTAMP,
                value DOUBLE PRECISION,
                range_start VARCHAR NOT NULL,
                range_end VARCHAR NOT NULL,
                run_id VARCHAR,
                rejected_at TIMESTAMP NOT NULL,
                PRIMARY KEY (segment, line_offset)
            )
            """,
            # The ledger: every cursor range whose readings are stored, written in the same
            # transaction as the readings.
            """
            CREATE TABLE IF NOT EXISTS sensor_stream_ranges (
                range_start VARCHAR NOT NULL,
                range_end VARCHAR NOT NULL,
                start_sequence BIGINT NOT NULL,
                start_offset BIGINT NOT NULL,
                end_sequence BIGINT NOT NULL,
                end_offset BIGINT NOT NULL,
                num_records BIGINT NOT NULL,
                num_inserted BIGINT NOT NULL,
                num_already_stored BIGINT NOT NULL,
                num_duplicates BIGINT NOT NULL,
                num_rejected BIGINT NOT NULL,
                min_ts TIMESTAMP,
                max_ts TIMESTAMP,
                run_id VARCHAR,
                stored_at TIMESTAMP NOT NULL,
                anomalies_scanned_at TIMESTAMP,
                PRIMARY KEY (range_start, range_end)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS sensor_stats (
                sensor_id VARCHAR NOT NULL PRIMARY KEY,
                total_count BIGINT NOT NULL,
                window_count BIGINT NOT NULL,
                window_start TIMESTAMP,
                first_seen TIMESTAMP,
                last_seen TIMESTAMP,
                rate_per_second DOUBLE PRECISION,
                min_value DOUBLE PRECISION,
                mean_value DOUBLE PRECISION,
                max_value DOUBLE PRECISION,
                median_interval_seconds DOUBLE PRECISION,
                gaps BIGINT NOT NULL,
                largest_gap_seconds DOUBLE PRECISION,
                updated_at TIMESTAMP NOT NULL,
                run_id VARCHAR
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS sensor_smoothed (
                sensor_id VARCHAR NOT NULL,
                ts TIMESTAMP NOT NULL,
                value DOUBLE PRECISION NOT NULL,
                smoothed DOUBLE PRECISION NOT NULL,
                smoothing_window VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                run_id VARCHAR,
                PRIMARY KEY (sensor_id, ts)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS sensor_anomalies (
                sensor_id VARCHAR NOT NULL,
                ts TIMESTAMP NOT NULL,
                value DOUBLE PRECISION NOT NULL,
                score DOUBLE PRECISION NOT NULL,
                threshold DOUBLE PRECISION NOT NULL,
                detection_window VARCHAR NOT NULL,
                detected_at TIMESTAMP NOT NULL,
                run_id VARCHAR,
                PRIMARY KEY (sensor_id, ts)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS sensor_forecast (
                sensor_id VARCHAR NOT NULL,
                ds TIMESTAMP NOT NULL,
                yhat DOUBLE PRECISION NOT NULL,
                lower_bound DOUBLE PRECISION NOT NULL,
                upper_bound DOUBLE PRECISION NOT NULL,
                interval_level DOUBLE PRECISION NOT NULL,
                period_seconds DOUBLE PRECISION NOT NULL,
                period_source VARCHAR NOT NULL,
                harmonics INTEGER NOT NULL,
                sampling_seconds DOUBLE PRECISION NOT NULL,
                created_at TIMESTAMP NOT NULL,
                run_id VARCHAR,
                PRIMARY KEY (sensor_id, ds)
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        4,
        "invoice_data: the upload a row's value comes from (upload time, batch id), so the newer upload wins",
        (
            # the newest upload that carried the row's value; an older upload never changes the row
            "ALTER TABLE invoice_data ADD COLUMN IF NOT EXISTS source_uploaded_at TIMESTAMP",
            "ALTER TABLE invoice_data ADD COLUMN IF NOT EXISTS source_batch_num VARCHAR",
            "UPDATE invoice_data SET source_batch_num = batch_num WHERE source_batch_num IS NULL",
            """
            UPDATE invoice_data SET source_uploaded_at = u.uploaded_at
            FROM upload_metadata u
            WHERE u.batch_num = invoice_data.batch_num AND invoice_data.source_uploaded_at IS NULL
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        5,
        "upload_metadata: notes of a completed batch in their own column, the upload's timezone",
        (
            "ALTER TABLE upload_metadata ADD COLUMN IF NOT EXISTS notes VARCHAR",
            "ALTER TABLE upload_metadata ADD COLUMN IF NOT EXISTS timezone VARCHAR",
            # a completed batch's error_log held its notes until now: a completed batch has no error
            "UPDATE upload_metadata SET notes = error_log, error_log = NULL "
            "WHERE status = 'completed' AND error_log IS NOT NULL",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        6,
        "sensor_forecast: why the forecast uses its period (the default kept, or what detection found)",
        ("ALTER TABLE sensor_forecast ADD COLUMN IF NOT EXISTS period_reason VARCHAR",),
    ),
)

MIGRATIONS += (
    Migration(
        7,
        "sensor_alarms: alarm events (anomalous readings less than a cool-down apart), one row per alarm",
        (
            # an alarm still running is updated in place (end_ts, peak, readings, updated_at) by
            # the scan whose anomalous readings fall within the cool-down of its end
            """
            CREATE TABLE IF NOT EXISTS sensor_alarms (
                sensor_id VARCHAR NOT NULL,
                start_ts TIMESTAMP NOT NULL,
                end_ts TIMESTAMP NOT NULL,
                peak_ts TIMESTAMP NOT NULL,
                peak_value DOUBLE PRECISION NOT NULL,
                peak_score DOUBLE PRECISION NOT NULL,
                threshold DOUBLE PRECISION NOT NULL,
                readings BIGINT NOT NULL,
                cooldown_seconds DOUBLE PRECISION NOT NULL,
                detected_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                run_id VARCHAR,
                PRIMARY KEY (sensor_id, start_ts)
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        8,
        "invoice_data pages keep 10% free: a correction's updated rows stay on their page (HOT updates, no index entry)",
        # a re-upload changing 10% of a million rows: the UPDATE took 1.3 s at the default 100%, 0.8 s at 90%;
        # applies to the pages written from now on (an existing table's old pages stay as they are)
        ("ALTER TABLE invoice_data SET (fillfactor = 90)",),
        only_on="postgresql",
    ),
)

SCHEMA_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
)
"""

# the order people read an upload in (GET /metadata, tsplatform uploads), not the table order
UPLOAD_METADATA_COLUMNS = (
    "batch_num",
    "original_filename",
    "stored_filename",
    "file_hash",
    "file_size_bytes",
    "uploaded_at",
    "status",
    "num_total_rows",
    "num_rejected_rows",
    "num_missing_rows",
    "num_imputed_rows",
    "num_duplicate_key_rows",
    "num_inserted_rows",
    "num_updated_rows",
    "num_unchanged_rows",
    "error_log",
    "notes",
    "column_mapping",
    "date_format",
    "timezone",
    "encoding",
    "delimiter",
    "extra_columns",
    "duplicate_of",
    "run_id",
    "started_at",
    "finished_at",
)


