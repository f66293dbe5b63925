"""gunicorn's settings for auditor: ``gunicorn -c python:auditor.serving "auditor:create_app()"``.

- The request line and header limits are raised in gunicorn, because gunicorn answers past them
  with an HTML page of its own; the application enforces its own limits instead and answers
  with a documented problem (414, 431: auditor/views/limits.py).
- Metrics are counted across workers: every worker writes its counters into one folder that
  ``/metrics`` sums (prometheus_client's multiprocess mode), so each scrape sees the whole
  server, not the one worker that answered it.

Bind address and worker count stay on the command line (``--bind``, ``--workers``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

# before prometheus_client is imported anywhere: it chooses how to count when first imported
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="auditor-metrics-")
    _OWN_METRICS_DIR: str | None = os.environ["PROMETHEUS_MULTIPROC_DIR"]
else:
    _OWN_METRICS_DIR = None

from prometheus_client import multiprocess

limit_request_line = 0  # up to 1 MiB here; the application answers 414 (MAX_QUERY_STRING_BYTES)
limit_request_field_size = 64 * 1024  # above the application's own 431 (MAX_HEADER_BYTES)
limit_request_fields = 200


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits leaves its counters, marked as those of a dead process."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
