"""What every log line carries, and how it is written.

`request_id` is the id of the work in hand: RequestIdMiddleware sets it for a request, and
the worker for an outbox row, to the id of the request that enqueued the row (its
`request_id` column), so a delivery's lines are found by the request that caused it.
LOG_FORMAT=json writes each line as one JSON object (python-json-logger), with the fields a
line was given (`extra=`) as keys; the default is a line of text.
"""

import logging
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str] = ContextVar("request_id", default="-")


def enqueuing_request_id() -> str:
    """The default of an outbox row's `request_id`: the request (or none) creating it."""
    value = request_id.get()
    return "" if value == "-" else value


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record, so every line names its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonLineFormatter(JsonFormatter):
    """`{"time": <ISO 8601, UTC>, "level": …, "logger": …, "request_id": …, "message": …,
    <extra>…}`, and `exc_info` with the traceback when there is one. Also gunicorn's own
    lines (deploy/gunicorn.conf.py), which have no request id."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(request_id)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            defaults={"request_id": "-"},
            timestamp="time",
            json_ensure_ascii=False,
        )
