"""tsplatform: validated sales uploads, a live sensor stream and per-category forecasts on Dagster."""
