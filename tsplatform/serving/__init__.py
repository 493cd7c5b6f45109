"""The HTTP API (``tsplatform serve``): uploads, the tables and the sensor stream over HTTP.

``create_app()`` builds the FastAPI app; one module per group of routes (``upload_routes``,
``table_routes``, ``stream_routes``, ``health_routes``; the pages for people: ``chart_routes``,
``dashboard_routes``). Reads go through ``tsplatform.read``, uploads through the landing path of
``tsplatform upload``, readings through the stream's writer.
"""

from tsplatform.serving.app import create_app

__all__ = ["create_app"]
