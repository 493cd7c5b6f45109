"""``tsplatform forecast`` (materialise now) and ``tsplatform forecasts`` (read them)."""

import sys

import click

from tsplatform import settings
from tsplatform.cli.output import FORMATS, Layout, emit
from tsplatform.cli.reads import reading
from tsplatform.forecasting.models import MODEL_NAMES

SUMMARY_LAYOUT = Layout(
    {"category": "category", "best_model": "chosen model", "mase": "mase", "smape": "smape", "coverage": "coverage"},
    text=frozenset({"category"}),
)
FORECASTS_LAYOUT = Layout(
    {"forecast_date": "date", "category": "category", "model_type": "model", "forecast_value": "forecast",
     "lower_bound": "lower", "upper_bound": "upper", "is_best": "best", "flag": "flag"},
    text=frozenset({"category", "flag"}),
)


@click.command()
@click.option("--category", "categories", multiple=True, help="Category to forecast (repeat for several; default: all).")
@click.option("--horizon", type=click.IntRange(1, 730), default=30, show_default=True, help="Days ahead.")
@click.option("--interval", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True, help="Prediction interval level.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also print Dagster's event log (INFO and above).")
def forecast(categories, horizon, interval, fmt, verbose):
    """Materialise forecasts now, as runs in the Dagster instance (aggregate, forecast, report).

    Progress goes to stderr, the summary (chosen model and backtest scores per category) to
    stdout, then where the charts are."""
    from tsplatform.instance import open_instance
    from tsplatform.local_forecasts import forecast_now
    from tsplatform.run_reports import QUIET, VERBOSE

    def progress(message: str) -> None:
        click.echo(message, err=True)

    with open_instance() as instance:
        try:
            outcome = forecast_now(instance, list(categories) or None, horizon, interval, echo=progress,
                                   log_level=VERBOSE if verbose else QUIET)
        except ValueError as problem:
            raise click.ClickException(str(problem)) from problem
    emit(outcome.summary, fmt, SUMMARY_LAYOUT, empty="no category was forecast")
    if outcome.index is not None:
        forecast_count = len(outcome.summary)
        progress(f"{forecast_count} {'category' if forecast_count == 1 else 'categories'} forecast; charts: {outcome.index}")
        progress(f"  in a browser, with `tsplatform serve` running: {_served_at(outcome.index)}")
    if not outcome.success:
        sys.exit(1)


def _served_at(page) -> str:
    """The page's address under ``tsplatform serve`` (``TSPLATFORM_PUBLIC_URL``)."""
    try:
        return settings.report_url(page)
    except ValueError as problem:  # a bad TSPLATFORM_API_PORT: say so rather than fail after the work
        return f"(unknown: {problem})"


@click.command()
@click.option("--category", default=None)
@click.option("--model", default=None, type=click.Choice([*MODEL_NAMES, "ensemble"]))
@click.option("--best", is_flag=True, help="Only the chosen model of each category.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--limit", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def forecasts(category, model, best, start, end, limit, fmt):
    """Rows of forecast_data, filtered (the table shows what fits; csv and json every column)."""
    from tsplatform import read

    frame = reading(lambda: read.forecasts(category, model, True if best else None, start, end, limit))
    if not frame.empty and fmt != "table":
        frame["forecast_date"] = frame["forecast_date"].dt.strftime("%Y-%m-%d")
    emit(frame, fmt, FORECASTS_LAYOUT)

