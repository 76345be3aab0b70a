"""Logging for the command line: the library logs through `logging.getLogger(__name__)` and stays silent
(a NullHandler on `benchmark`) until its user configures logging; the CLI does so here, once per command.

Library and Ray users route or silence the output the usual way, e.g.
`logging.getLogger("benchmark").setLevel(logging.WARNING)` or `logging.basicConfig(level=logging.INFO)`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
LOGGER_NAMES = ("benchmark", "adapters", "tasks")  # the packages of this distribution


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # StreamHandler[TextIO] is subscriptable only from Python 3.11
    """Writes to whatever `sys.stderr` is at the time of the record (pytest's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:  # the stream attribute of StreamHandler
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


class _Formatter(logging.Formatter):
    """INFO lines are the message alone (what a person reads); warnings and errors say so; debug names the logger."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        if record.levelno < logging.INFO:
            return f"debug [{record.name}]: {message}"
        return message


def configure(level: int | str = logging.INFO) -> logging.Handler:
    """Send this distribution's log records at `level` and above to stderr; replaces an earlier call's handler."""
    if isinstance(level, str):
        level = LEVELS[level]
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    handler._two_clocks = True  # type: ignore[attr-defined]  # marks the handler this function owns
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_two_clocks", False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
    return handler


@contextlib.contextmanager
def configured(level: int | str = logging.INFO) -> Iterator[logging.Handler]:
    """`configure` for the length of a block, then the loggers as they were (for `cli.main` called in-process)."""
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in LOGGER_NAMES}
    try:
        yield configure(level)
    finally:
        for name, (old_level, handlers) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(old_level)
            logger.handlers[:] = handlers


__all__ = ["LEVELS", "LOGGER_NAMES", "configure", "configured"]
