"""What ``make run`` ends with: the sensor-stream generator, ``dagster dev`` and ``tsplatform serve``
(the HTTP API, charts and dashboard), started and stopped as one unit, on Ctrl-C in a terminal as
on SIGINT, SIGTERM or SIGHUP from a script or a service manager (see ``tsplatform.supervision``).

    python -m tsplatform.cli.run_local [--host 127.0.0.1] [--port 3000] [--api-port 8000] [--no-stream]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from tsplatform import settings
from tsplatform.supervision import Command, run_together


def commands(host: str, port: int, workspace: str, stream: bool, api_port: int = settings.DEFAULT_API_PORT) -> list[Command]:
    scripts = Path(sys.executable).parent
    dev = Command(
        "dagster dev",
        [str(scripts / "dagster"), "dev", "--host", host, "--port", str(port), "--workspace", workspace],
        stop_signal=signal.SIGINT,  # what Ctrl-C sends: dagster dev shuts its services down on it
    )
    generator = Command("stream generator", [str(scripts / "tsplatform"), "stream"], quiet=True)
    api = Command("tsplatform serve", [str(scripts / "tsplatform"), "serve", "--host", host, "--port", str(api_port)])
    return [generator, dev, api] if stream else [dev, api]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsplatform.cli.run_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--api-port", type=int, default=None, help=f"Port of tsplatform serve (${settings.API_PORT_VARIABLE}, 8000).")
    parser.add_argument("--workspace", default="workspace.yaml")
    parser.add_argument("--no-stream", dest="stream", action="store_false", help="Do not start the stream generator.")
    options = parser.parse_args(argv)
    api_port = options.api_port or settings.api_port()
    os.environ[settings.API_PORT_VARIABLE] = str(api_port)  # the code location's chart links follow it
    return run_together(commands(options.host, options.port, options.workspace, options.stream, api_port))


if __name__ == "__main__":
    sys.exit(main())
