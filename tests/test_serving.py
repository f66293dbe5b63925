"""The service as it is served, on its embedded database: SQLite holds concurrent requests
under ``auditor run`` (the server ``make run`` starts) and under gunicorn with 4 workers and
``auditor.serving``, which also answers oversized requests with problems and sums the metrics
of every worker. Real processes, a real file database, real sockets."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from auditor import create_app, migrate
from auditor.db import get_database
from auditor.schemas.users import TokenIn, UserIn
from auditor.services import datamap, users
from tests.factories import ACTOR, app_settings, process_environment

pytestmark = pytest.mark.slow
GUNICORN = Path(sys.executable).with_name("gunicorn")
CONCURRENT = 40


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A migrated SQLite file with the policy's inventory, a client and an admin's token."""
    folder = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{folder / 'auditor.db'}"
    app = create_app(app_settings(url))
    database = get_database(app)
    migrate.upgrade(database.engine)
    with app.app_context(), database.session() as session:
        datamap.load_defaults(session, actor=ACTOR)
        admin = users.create_user(
            session, UserIn(email="admin@served.example", name="Admin", role="admin"), actor=ACTOR
        )
        token, _ = users.create_token(
            session, admin.id, TokenIn(name="served"), actor=ACTOR, default_ttl_days=1
        )
        session.commit()
    database.engine.dispose()
    return folder, url, token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if call(port, "GET", "/healthz")[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not start: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def call(
    port: int, method: str, path: str, token: str | None = None, body: object = None, **headers: str
) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = dict(headers)
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def burst(port: int, token: str) -> list[tuple[int, str]]:
    """40 requests at once: reads, audited reads (they write) and writes."""

    def one(index: int) -> tuple[int, str]:
        kind = index % 4
        if kind == 0:
            return call(port, "GET", "/api/v1/me", token)[0], "me"
        if kind == 1:
            return call(port, "GET", "/api/v1/holds?limit=50", token)[0], "holds"
        if kind == 2:
            return call(port, "GET", "/api/v1/subjects?limit=5", token)[0], "subjects (audited)"
        hold = {"scope": "category", "value": "security_logs", "reason": f"burst {index}"}
        return call(port, "POST", "/api/v1/holds", token, hold)[0], "place a hold"

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(one, range(CONCURRENT)))


def env_for(folder: Path, url: str) -> dict[str, str]:
    env = process_environment(database_url=url, instance=folder, LOG_LEVEL="WARNING")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def test_sqlite_holds_40_concurrent_requests_under_auditor_run(instance, tmp_path):
    folder, url, token = instance
    port = free_port()
    command = [sys.executable, "-c", "from auditor.cli import main; main()", "run",
               "--port", str(port), "--host", "127.0.0.1"]  # fmt: skip
    server = serve(command, env_for(folder, url), port, tmp_path / "run.log")
    try:
        for _ in range(2):
            failed = [(status, what) for status, what in burst(port, token) if status >= 300]
            assert failed == [], failed
    finally:
        stop(server)


@pytest.fixture(scope="module")
def gunicorn(instance, tmp_path_factory) -> Iterator[int]:
    folder, url, _ = instance
    port = free_port()
    command = [str(GUNICORN), "-c", "python:auditor.serving", "--workers", "4",
               "--bind", f"127.0.0.1:{port}", "auditor:create_app()"]  # fmt: skip
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    server = serve(command, env_for(folder, url), port, log)
    yield port
    stop(server)


def test_sqlite_holds_40_concurrent_requests_under_gunicorn_with_4_workers(instance, gunicorn):
    token = instance[2]
    for _ in range(2):
        failed = [(status, what) for status, what in burst(gunicorn, token) if status >= 300]
        assert failed == [], failed


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/v1/holds?reference=" + "x" * 5000, {}, 414),
        ("/api/v1/holds?reference=" + "x" * 9000, {}, 414),  # past gunicorn's own 8190
        ("/api/v1/holds", {"X-Big": "x" * 16 * 1024}, 431),
    ],
)
def test_requests_past_the_limits_get_problems_not_the_servers_html(
    instance, gunicorn, path, headers, status
):
    got, content_type, body = call(gunicorn, "GET", path, instance[2], **headers)
    assert (got, content_type) == (status, "application/problem+json")
    assert json.loads(body)["status"] == status


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if found == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_every_worker_and_bound_the_method_label(instance, gunicorn):
    token = instance[2]
    before = call(gunicorn, "GET", "/metrics")[2].decode()
    labels = {"endpoint": "/api/v1/me", "method": "GET", "status": "200"}
    start = metric(before, "auditor_http_requests_total", **labels)
    for _ in range(30):
        assert call(gunicorn, "GET", "/api/v1/me", token)[0] == 200
    call(gunicorn, "BREW", "/api/v1/me", token)
    scrapes = [call(gunicorn, "GET", "/metrics")[2].decode() for _ in range(4)]
    counts = [metric(text, "auditor_http_requests_total", **labels) - start for text in scrapes]
    assert counts == [30.0] * 4  # whichever worker answers the scrape
    assert 'method="BREW"' not in scrapes[-1] and 'method="other"' in scrapes[-1]
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None  # the tests' own process untouched
