"""``tsplatform serve``: the HTTP API on uvicorn (``tsplatform/serving``)."""

import click

from tsplatform import settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=settings.DEFAULT_API_PORT, show_default=True,
              envvar=settings.API_PORT_VARIABLE, show_envvar=True)
def serve(host, port):
    """Serve uploads, the tables and the sensor stream over HTTP; OpenAPI docs at /docs."""
    import uvicorn

    from tsplatform.serving import create_app
    from tsplatform.warehouse import open_warehouse

    try:
        app = create_app()
    except ValueError as problem:  # a setting that cannot be used
        raise click.UsageError(str(problem)) from problem
    open_warehouse(settings.warehouse_url())  # the schema up to date, as every platform command brings it
    uvicorn.run(app, host=host, port=port)
