"""Commands to a running generator (``spike``, ``normal``) as small files it polls.

Each command is its own JSON file in ``<stream>/control/``, written to a temporary name and renamed,
so the generator never reads half a command and two commands sent at once never overwrite each
other. Names sort by send time, so commands apply in the order they were sent.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

CONTROL_FOLDER = "control"
ACTIONS = ("spike", "normal")


@dataclass(frozen=True)
class Command:
    action: str
    sensor_id: str | None = None
    size: float | None = None
    hold: bool = False

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        if self.action == "spike" and not self.sensor_id:
            raise ValueError("a spike needs a sensor")


def send_command(stream_folder: Path, command: Command) -> Path:
    """Drop ``command`` where the generator looks; returns the file written."""
    folder = Path(stream_folder) / CONTROL_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"cmd-{time.time_ns():020d}-{os.getpid()}.json"
    temporary = folder / f".{name}.tmp"
    temporary.write_text(json.dumps(asdict(command)))
    final = folder / name
    os.replace(temporary, final)
    return final


class CommandInbox:
    """The generator's side: take pending commands, oldest first, deleting each once read."""

    def __init__(self, stream_folder: Path) -> None:
        self.folder = Path(stream_folder) / CONTROL_FOLDER

    def clear(self) -> None:
        """Forget commands sent while no generator was running (they were meant for another run)."""
        self.take()

    def take(self) -> list[Command]:
        if not self.folder.is_dir():
            return []
        commands = []
        for path in sorted(self.folder.glob("cmd-*.json")):
            try:
                payload = json.loads(path.read_text())
                commands.append(Command(**payload))
            except (ValueError, TypeError, OSError):
                pass  # a malformed command is dropped rather than blocking the ones after it
            path.unlink(missing_ok=True)
        return commands


def apply_command(generator, command: Command) -> None:
    """Carry out ``command`` on a ``ReadingGenerator``; unknown sensors raise KeyError."""
    if command.action == "spike":
        generator.spike(command.sensor_id, command.size, hold=command.hold)
    else:
        generator.normal(command.sensor_id)
