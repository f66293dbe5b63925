"""Every shell example of README.md and docs/ runs as written against the demo ``make run`` loads.

The ```sh blocks of each document run in order, each with ``bash`` (``set -euo pipefail``), in a
scratch folder whose ``.venv/bin`` is on PATH (so ``.venv/bin/auditor`` and ``auditor`` both
work). Each document gets its own copy of one demo, built like ``make run`` builds it:
``instance init``, ``db upgrade``, ``demo load``, then ``auditor run`` with the embedded
scheduler until it has caught up its jobs (the purge, the deadline check, the checkpoint, the
compliance checks). A
document whose examples call the API gets its own server, and its examples' ``127.0.0.1:5000``
is rewritten to that server's port. Nothing reads ./instance or the caller's AUDITOR_* settings:
every subprocess gets an explicit environment.

``auditor`` runs through a fork server (tests/docs/forkserver.py): the same ``auditor.cli:main``
in a fork of a process that has imported it already, which saves two seconds per command. Set
DOCS_EXAMPLES_FORK=0 to run the real ``.venv/bin/auditor`` instead (several times slower).

A block preceded by ``<!-- not run: reason -->`` is not run (``make run`` itself, PostgreSQL, a
second machine). A ```text block that follows a ```sh block with nothing but blank lines between
is the output it shows: each of its lines must appear in what the example printed (whitespace
runs are one space; ``...`` stands for anything).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.forkserver import ForkServer
from tests.docs.markdown import NOT_RUN, blocks, documents, name

REAL_VENV = Path(sys.executable).parent.parent
DEMO_URL = "127.0.0.1:5000"
# make run's embedded scheduler catches up the purge, the deadline check, the checkpoint and the
# compliance checks
JOBS = 4
TIMEOUT = 120  # seconds, for one block or one wait
USE_FORK_SERVER = os.environ.get("DOCS_EXAMPLES_FORK", "1") != "0"


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    code: str
    output: str | None  # the ```text block shown right after it
    skip: str | None  # the reason given by <!-- not run: ... -->


def examples(path: Path) -> list[Example]:
    found = blocks(path.read_text(encoding="utf-8"))
    result = []
    for index, block in enumerate(found):
        if block.lang != "sh":
            continue
        following = found[index + 1] if index + 1 < len(found) else None
        shown = following.body if following and following.lang == "text" else None
        skip = NOT_RUN.match(block.before)
        result.append(
            Example(
                name(path),
                block.line,
                block.body,
                None if block.gap_after else shown,
                skip.group("reason") if skip else None,
            )
        )
    return result


DOCUMENTS = {name(path): examples(path) for path in documents()}
WITH_EXAMPLES = sorted(
    doc for doc, found in DOCUMENTS.items() if any(e.skip is None for e in found)
)


# --- processes ----------------------------------------------------------------------------------


def environment(venv: Path, instance: Path | None, **extra: str) -> dict[str, str]:
    """What a person's shell has after ``make run``: the virtualenv's commands on PATH, and the
    instance folder (make run's is ./instance; ours is a scratch copy). No other AUDITOR_*."""
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }
    if os.environ.get("PYTHONPATH"):  # which code runs is the caller's choice
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if instance is not None:
        env["AUDITOR_INSTANCE_PATH"] = str(instance)
    env.update(extra)
    return env


def auditor(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["auditor", *args], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, f"auditor {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``auditor run`` in a subprocess, on a free local port, until stopped."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            ["auditor", "run", "--host", "127.0.0.1", "--port", str(self.port)],
            env={**env, "AUDITOR_LOG_JSON": "false"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with status {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not answer /healthz")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def finished_job_runs(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=1) as db:
            query = "SELECT count(*) FROM job_run WHERE finished_at IS NOT NULL"
            return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def build_demo(folder: Path, venv: Path) -> Path:
    """The instance ``make run`` leaves behind, in ``folder``: secrets, schema, demo, and the
    first runs of the embedded scheduler's jobs."""
    instance = folder / "instance"
    env = environment(venv, instance)
    auditor(env, "instance", "init")
    auditor(env, "db", "upgrade")
    auditor(env, "demo", "load", "--no-token")
    server = Server({**env, "AUDITOR_SCHEDULER": "embedded"}, folder / "server.log")
    try:
        server.wait_until_up()
        deadline = time.monotonic() + TIMEOUT
        while finished_job_runs(instance / "auditor.db") < JOBS:
            assert time.monotonic() < deadline, "the scheduler did not catch up its jobs"
            time.sleep(0.1)
    finally:
        server.stop()
    with sqlite3.connect(instance / "auditor.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return instance


# --- running a document's examples --------------------------------------------------------------


def normalised(line: str) -> str:
    return " ".join(line.split())


def shows(printed: list[str], sample: str) -> list[str]:
    """The lines of ``sample`` that appear nowhere in ``printed`` (``...`` matches anything)."""
    lines = [normalised(line) for line in printed]
    missing = []
    for line in sample.splitlines():
        wanted = normalised(line)
        if not wanted:
            continue
        pattern = re.compile(".*?".join(re.escape(part) for part in wanted.split("...")))
        if not any(pattern.fullmatch(candidate) for candidate in lines):
            missing.append(line)
    return missing


@dataclass
class Scratch:
    """Where the documents run: the demo to copy, and how to make a document's .venv."""

    template: Path
    root: Path
    forks: ForkServer | None

    def venv(self, folder: Path) -> Path:
        if self.forks is not None:
            return self.forks.venv(folder, REAL_VENV)
        (folder / ".venv").symlink_to(REAL_VENV, target_is_directory=True)
        return folder / ".venv"


def run_document(document: str, scratch: Scratch) -> list[str]:
    """Run the document's examples in order; the failures, described."""
    folder = scratch.root / document.replace("/", "_")
    folder.mkdir(parents=True)
    venv = scratch.venv(folder)
    instance = folder / "instance"
    shutil.copytree(scratch.template, instance)
    env = environment(venv, instance)
    runnable = [example for example in DOCUMENTS[document] if example.skip is None]
    server = None
    if any(DEMO_URL in example.code for example in runnable):
        server = Server(env, folder / "server.log")
        server.wait_until_up()
    failures = []
    try:
        for example in runnable:
            code = example.code
            if server is not None:
                code = code.replace(DEMO_URL, f"127.0.0.1:{server.port}")
            done = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + code],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            where = f"{document}:{example.line}"
            printed = done.stdout + "\n" + done.stderr
            if done.returncode != 0:
                failures.append(f"{where} exited {done.returncode}:\n{example.code}\n{printed}")
            elif example.output is not None:
                missing = shows(done.stdout.splitlines() + done.stderr.splitlines(), example.output)
                if missing:
                    failures.append(f"{where} did not print {missing}:\n{printed}")
    finally:
        if server is not None:
            server.stop()
    return failures


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[list[str]]]]:
    """The selected documents run side by side (each mostly waits on its subprocesses)."""
    selected = [
        item.callspec.params["document"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_shell_examples_run_as_written"
    ]
    base = tmp_path_factory.mktemp("docs-examples")
    forks = (
        ForkServer(base / "forkserver", environment(REAL_VENV, None)) if USE_FORK_SERVER else None
    )
    try:
        demo = base / "demo"
        demo.mkdir()
        venv = forks.venv(demo, REAL_VENV) if forks else REAL_VENV
        scratch = Scratch(build_demo(demo, venv), base / "documents", forks)
        with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
            yield {doc: pool.submit(run_document, doc, scratch) for doc in dict.fromkeys(selected)}
    finally:
        if forks is not None:
            forks.stop()


def test_every_document_is_read():
    assert "README.md" in DOCUMENTS
    assert "docs/requirements.md" in DOCUMENTS


def test_examples_that_are_not_run_say_why():
    for document, found in DOCUMENTS.items():
        for example in found:
            assert example.skip is None or example.skip.strip(), f"{document}:{example.line}"


def test_output_samples_match_with_wildcards():
    printed = ["audit trail intact: 183 events, root 37eb, 3 checkpoints verified", "403"]
    assert (
        shows(printed, "audit trail intact: ... events, root ..., ... checkpoints verified") == []
    )
    assert shows(printed, "  403  \n") == []
    assert shows(printed, "401") == ["401"]


@pytest.mark.slow
@pytest.mark.parametrize("document", WITH_EXAMPLES)
def test_shell_examples_run_as_written(document, outcomes):
    failures = outcomes[document].result()
    assert not failures, "\n\n".join(failures)
