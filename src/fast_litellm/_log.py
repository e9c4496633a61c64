"""The ``fast_litellm`` logger: lines start with ``fast_litellm:`` and go to stderr.

LiteLLM gives its loggers their own stderr handlers; we do the same so that our start-up
line and warnings appear in the proxy's normal log output whatever the deployment's
logging configuration. ``FAST_LITELLM_LOG_LEVEL`` (default INFO) sets the level.
"""

from __future__ import annotations

import logging
import os
import sys

_NAME = "fast_litellm"


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"fast_litellm: {record.levelname}: {msg}"
        return f"fast_litellm: {msg}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (gunicorn may redirect it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: D401
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def get_logger() -> logging.Logger:
    logger = logging.getLogger(_NAME)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_Formatter())
        logger.addHandler(handler)
        logger.propagate = False
        level = os.environ.get("FAST_LITELLM_LOG_LEVEL", "INFO").upper()
        logger.setLevel(getattr(logging, level, logging.INFO))
    return logger


log = get_logger()
