"""Keep model chatter out of the log: record warnings per model instead of printing them.

statsmodels raises ConvergenceWarning/ValueWarning through ``warnings``; Prophet and
cmdstanpy talk through ``logging`` (cmdstanpy even installs its own INFO handler). Both are
collected while a model fits and returned as a short, de-duplicated list of messages.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections import Counter
from collections.abc import Iterator

CHATTY_LOGGERS = ("prophet", "cmdstanpy")
MAX_MESSAGES_PER_MODEL = 10


class _RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class CapturedMessages:
    """Warnings and log records seen inside ``capture_warnings``."""

    def __init__(self) -> None:
        self._raw: list[str] = []

    def add(self, message: str) -> None:
        self._raw.append(message)

    def messages(self) -> list[str]:
        """Unique messages in first-seen order, with repeat counts, capped in number."""
        counts = Counter(self._raw)
        unique = list(dict.fromkeys(self._raw))
        lines = [f"{text} (x{counts[text]})" if counts[text] > 1 else text for text in unique]
        if len(lines) > MAX_MESSAGES_PER_MODEL:
            dropped = len(lines) - MAX_MESSAGES_PER_MODEL
            lines = lines[:MAX_MESSAGES_PER_MODEL] + [f"... {dropped} more distinct messages"]
        return lines


def silence_prophet_logging() -> None:
    """Prophet/cmdstanpy INFO lines ('Chain [1] start processing') go nowhere."""
    try:
        from cmdstanpy.utils import get_logger

        get_logger()  # creates cmdstanpy's own handler now, so our level is not overwritten later
    except ImportError:  # pragma: no cover - prophet always brings cmdstanpy
        pass
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def capture_warnings() -> Iterator[CapturedMessages]:
    """Record ``warnings`` and WARNING+ log records of the chatty loggers; print nothing."""
    captured = CapturedMessages()
    handler = _RecordingHandler()
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS]
    previous_propagate = [logger.propagate for logger in loggers]
    previous_handlers = [list(logger.handlers) for logger in loggers]
    for logger in loggers:
        logger.handlers = [handler]
        logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            yield captured
    finally:
        for logger, propagate, handlers in zip(loggers, previous_propagate, previous_handlers):
            logger.handlers = handlers
            logger.propagate = propagate
        for item in caught:
            text = str(item.message).strip().splitlines()[0] if str(item.message).strip() else ""
            captured.add(f"{item.category.__name__}: {text}")
        for record in handler.records:
            captured.add(f"{record.name} {record.levelname.lower()}: {record.getMessage().strip()}")
