"""``tsplatform forecast`` (materialise now) and ``tsplatform forecasts`` (read them)."""

import sys

import click

from tsplatform import settings
from tsplatform.cli.output import FORMATS, emit
from tsplatform.forecasting.models import MODEL_NAMES


@click.command()
@click.option("--category", "categories", multiple=True, help="Category to forecast (repeat for several; default: all).")
@click.option("--horizon", type=click.IntRange(1, 730), default=30, show_default=True, help="Days ahead.")
@click.option("--interval", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True, help="Prediction interval level.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def forecast(categories, horizon, interval, fmt):
    """Materialise forecasts now, as runs in the Dagster instance (aggregate, forecast, report)."""
    from tsplatform.instance import open_instance
    from tsplatform.local_forecasts import forecast_now

    with open_instance() as instance:
        try:
            outcome = forecast_now(instance, list(categories) or None, horizon, interval, echo=lambda m: click.echo(m, err=True))
        except ValueError as problem:
            raise click.ClickException(str(problem)) from problem
    emit(outcome.summary, fmt)
    if not outcome.success:
        sys.exit(1)


@click.command()
@click.option("--category", default=None)
@click.option("--model", default=None, type=click.Choice([*MODEL_NAMES, "ensemble"]))
@click.option("--best", is_flag=True, help="Only the chosen model of each category.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--limit", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def forecasts(category, model, best, start, end, limit, fmt):
    """Rows of forecast_data, filtered."""
    from tsplatform.warehouse import forecasts as forecast_table
    from tsplatform.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_url()).transaction() as session:
        frame = forecast_table.read_forecasts(
            session, category, model, start.date() if start else None, end.date() if end else None, None if best else limit
        )
    if best:
        frame = frame[frame["is_best"]].head(limit) if limit else frame[frame["is_best"]]
    if not frame.empty:
        frame["forecast_date"] = frame["forecast_date"].dt.strftime("%Y-%m-%d")
    emit(frame.drop(columns=["created_at", "run_id"]) if fmt == "table" else frame, fmt)
