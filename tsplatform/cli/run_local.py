"""What ``make run`` ends with: the sensor-stream generator and ``dagster dev``, started and stopped
as one unit, on Ctrl-C in a terminal as on SIGINT, SIGTERM or SIGHUP from a script or a service
manager (see ``tsplatform.supervision``).

    python -m tsplatform.cli.run_local [--host 127.0.0.1] [--port 3000] [--no-stream]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from tsplatform.supervision import Command, run_together


def commands(host: str, port: int, workspace: str, stream: bool) -> list[Command]:
    scripts = Path(sys.executable).parent
    dev = Command(
        "dagster dev",
        [str(scripts / "dagster"), "dev", "--host", host, "--port", str(port), "--workspace", workspace],
        stop_signal=signal.SIGINT,  # what Ctrl-C sends: dagster dev shuts its services down on it
    )
    generator = Command("stream generator", [str(scripts / "tsplatform"), "stream"], quiet=True)
    return [generator, dev] if stream else [dev]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsplatform.cli.run_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--workspace", default="workspace.yaml")
    parser.add_argument("--no-stream", dest="stream", action="store_false", help="Do not start the stream generator.")
    options = parser.parse_args(argv)
    return run_together(commands(options.host, options.port, options.workspace, options.stream))


if __name__ == "__main__":
    sys.exit(main())
