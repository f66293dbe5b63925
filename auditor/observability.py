"""Structured JSON logs with a request id, and Prometheus metrics. Neither carries personal data."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
import uuid
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
#: the methods counted by name; any other (a client can invent them) is counted as "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Exceptions are logged as type and stack frames, never the message,
    which may quote data (a database error quotes the row it refused)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(record.exc_info[2])
            ]
        return json.dumps(entry, default=str)


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamp each record with the request id when it is created, inside the request."""
    record = _base_factory(*args, **kwargs)
    try:
        if g and "request_id" in g:
            record.request_id = g.request_id
    except RuntimeError:  # outside an app context
        pass
    return record


class TextFormatter(logging.Formatter):
    """For a terminal: the message followed by the record's extra fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _RESERVED and not key.startswith("_")
        )
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + extras
        if record.exc_info and record.exc_info[0] is not None:
            line += f" exc_type={record.exc_info[0].__name__}"
        return line


def configure_logging(level: str, *, as_json: bool) -> None:
    logging.setLogRecordFactory(_record_with_request_id)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # WeasyPrint and fontTools narrate every render at INFO (steps, font subsetting)
    for noisy in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _RecordsByCategory:
    """Scraped on demand: how many records each category holds (no personal data)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Any:
        from auditor.db import get_session
        from auditor.services.metrics import records_by_category

        gauge = GaugeMetricFamily(
            "auditor_records", "Records held, by data category", labels=["category"]
        )
        with self.app.app_context():
            for category, count in records_by_category(get_session()):
                gauge.add_metric([category], count)
        yield gauge


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "auditor_http_requests",
        "HTTP requests by endpoint, method and status",
        ["endpoint", "method", "status"],
        registry=registry,
    )
    latency = Histogram(
        "auditor_http_request_seconds",
        "HTTP request latency by endpoint",
        ["endpoint", "method"],
        registry=registry,
    )
    if app.config["METRICS_MULTIPROCESS_DIR"]:
        # every worker counts into the folder; a scrape sums them (the metrics above still
        # write there: prometheus_client chose file-backed values when it was imported)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=app.config["METRICS_MULTIPROCESS_DIR"]
        )
    registry.register(_RecordsByCategory(app))
    app.extensions["auditor.metrics"] = registry
    access = logging.getLogger("auditor.access")

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        valid = 0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if valid else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        method = request.method if request.method in METHODS else "other"  # bounded labels
        requests.labels(endpoint, method, str(response.status_code)).inc()
        latency.labels(endpoint, method).observe(elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        # the route pattern, never the concrete path: paths can carry identifiers
        access.info(
            "request",
            extra={
                "method": request.method,
                "route": endpoint,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 1),
            },
        )
        return response


def metrics_response(app: Flask) -> Response:
    return Response(
        generate_latest(app.extensions["auditor.metrics"]), content_type=CONTENT_TYPE_LATEST
    )
