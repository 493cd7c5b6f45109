# One image for every Dagster process of the production shape (user-code gRPC server, webserver,
# daemon), for the stream generator and the HTTP API (tsplatform serve, port 8000): the same package, the
# same dependencies.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home \
    TSPLATFORM_DATA_DIR=/opt/tsplatform/data

WORKDIR /opt/tsplatform

# Dependencies first (cached while only the code changes), then the package itself.
COPY pyproject.toml README.md ./
COPY tsplatform ./tsplatform
RUN pip install .

COPY deploy/dagster.postgres.yaml /opt/dagster/home/dagster.yaml
COPY deploy/workspace.yaml ./workspace.yaml
COPY deploy/celery.yaml ./deploy/celery.yaml

EXPOSE 4000 8000
CMD ["dagster", "code-server", "start", "--host", "0.0.0.0", "--port", "4000", "--module-name", "tsplatform.definitions", "--location-name", "tsplatform"]
