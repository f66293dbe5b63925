"""What the benchmarks share: size argument, children, instance, inventory, figures line.

Stdlib only at import: bench/purge.py's parent imports it and must stay small (see its ``main``);
what needs the app imports it inside the function.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

# ``auditor`` as the installed script runs it, with this interpreter (the one of .venv)
CLI = [sys.executable, "-c", "from auditor.cli import main; main()"]

# the names the generated people draw from (bench/ingest_data.py, bench/purge_data.py)
FIRST = ("alex", "sam", "jordan", "marie", "luc", "priya", "chen", "fatima", "noah", "olivia",
         "jean", "sofia", "omar", "emma", "liam", "ava", "ethan", "mia", "lucas",
         "zoe")  # fmt: skip
LAST = ("tremblay", "gagnon", "roy", "cote", "bouchard", "smith", "brown", "wilson", "martin",
        "lee", "patel", "nguyen", "singh", "campbell", "morin", "lavoie", "fortin",
        "khan")  # fmt: skip


def log(message: str) -> None:
    """Progress, on stderr (stdout is for the figures)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def client_code(index: int) -> str:
    """The code of the ``index``-th generated client: client-01, client-02, ..."""
    return f"client-{index + 1:02d}"


# -- the size argument ---------------------------------------------------------------------------
def parse_size(
    parser: argparse.ArgumentParser,
    default: int,
    what: str,
    alias: str = "--records",
    minimum: int = 1,
) -> tuple[argparse.Namespace, int]:
    """Add the positional SIZE (``what``, ``default`` if left out; ``alias N`` is the older
    spelling, still accepted), parse the command line, and return the options and the size."""

    def number(text: str) -> int:
        try:
            value = int(text.replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"at least {minimum:,}: {text!r}")
        return value

    at_least = f", at least {minimum:,}" if minimum > 1 else ""
    parser.add_argument(
        "size",
        nargs="?",
        type=number,
        metavar="SIZE",
        help=f"{what} (default {default:,}{at_least})",
    )
    parser.add_argument(
        alias, dest="size_option", type=number, metavar="N", help="the same as SIZE"
    )
    options = parser.parse_args()
    if options.size is not None and options.size_option is not None:
        parser.error(f"SIZE and {alias} both given")
    size = options.size if options.size is not None else options.size_option
    return options, default if size is None else size


# -- children ------------------------------------------------------------------------------------
class Child(NamedTuple):
    """A finished child: its wall seconds, its own rusage (``wait4``) and its stdout."""

    seconds: float
    usage: resource.struct_rusage
    output: str

    @property
    def cpu_seconds(self) -> float:
        return self.usage.ru_utime + self.usage.ru_stime

    @property
    def peak_rss_mb(self) -> float:
        # A child's ru_maxrss starts from its parent's high-water mark (fork/vfork, exec).
        return self.usage.ru_maxrss / 1024


def script(path: str) -> list[str]:
    """The command that runs the benchmark at ``path`` (its ``__file__``) again, as a child."""
    return [sys.executable, str(Path(path).resolve())]


def run_cli(args: Sequence[str], env: dict[str, str], echo: bool = False) -> tuple[float, str]:
    """One real ``auditor`` command in a child process: its wall seconds and its stdout (logged
    line by line with ``echo``; stdout and stderr shown if it fails)."""
    started = time.perf_counter()
    proc = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"'auditor {' '.join(args)}' failed with status {proc.returncode}")
    if echo:
        for line in proc.stdout.splitlines():
            log(f"  {line}")
    return seconds, proc.stdout


def run_child(
    args: Sequence[str],
    env: dict[str, str],
    poll: Callable[[], str | None] | None = None,
    every: float = 30.0,
) -> Child:
    """Run a child, its stdout echoed to stderr; it must succeed. ``poll`` (optional) says how
    far the child got, logged every ``every`` seconds (the child is then waited for in steps of
    50 ms; without it, ``wait4`` blocks until the child ends)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE)
    stdout = proc.stdout
    assert stdout is not None
    output: list[str] = []

    def copy() -> None:
        for line in stdout:
            text = line.decode(errors="replace")
            output.append(text)
            sys.stderr.write(text)

    reader = threading.Thread(target=copy, daemon=True)
    reader.start()
    next_poll = started + every
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, 0 if poll is None else os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
            if poll is not None and time.perf_counter() >= next_poll:
                next_poll += every
                try:
                    said = poll()
                except Exception as exc:  # progress only: never fail the run
                    said = f"({type(exc).__name__})"
                if said:
                    log(f"  {time.perf_counter() - started:.0f} s: {said}")
    except BaseException:  # interrupted: the child goes too (its scratch files are about to)
        proc.terminate()
        os.wait4(proc.pid, 0)
        raise
    seconds = time.perf_counter() - started
    reader.join()
    stdout.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed with status {proc.returncode}: {' '.join(args[:6])}")
    return Child(seconds, usage, "".join(output))


def last_json(output: str) -> dict[str, Any]:
    """The JSON object on the last line of a child's stdout."""
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def exit_on_sigterm() -> None:
    """SIGTERM ends the run as Ctrl-C does, so that scratch databases and files are removed."""

    def terminated(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)


# -- the instance ----------------------------------------------------------------------------------
def instance_env(folder: Path, **settings: str) -> dict[str, str]:
    """The environment of children using the instance at ``folder``: this shell's own
    ``AUDITOR_*`` settings left out, plain-text logs, and ``settings`` (``AUDITOR_...=...``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env.update(AUDITOR_INSTANCE_PATH=str(folder), AUDITOR_LOG_JSON="false", **settings)
    return env


def make_instance(
    folder: Path, upgrade: bool = False, echo: bool = False, **settings: str
) -> dict[str, str]:
    """An instance made by the real ``auditor instance init`` (and ``auditor db upgrade`` with
    ``upgrade``); returns the environment its children run in (see ``instance_env``)."""
    env = instance_env(folder, **settings)
    run_cli(["instance", "init"], env, echo=echo)
    if upgrade:
        run_cli(["db", "upgrade"], env, echo=echo)
        name_operator(env)
    return env


OPERATOR = "bench.operator@msp.example.ca"


def name_operator(env: dict[str, str]) -> None:
    """Create the first admin (unnamed, as on a new install) and run the commands that follow
    as them: commands that change data need a named user (docs/cli.md)."""
    run_cli(["users", "create", OPERATOR, "--name", "Bench Operator", "--role", "admin"], env)
    env["AUDITOR_OPERATOR"] = OPERATOR


def sqlite_settings(folder: Path) -> dict[str, str]:
    """``create_app`` settings for the instance's own SQLite file, whatever
    AUDITOR_DATABASE_URL this shell may have."""
    return {"INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'auditor.db'}"}


def clients(count: int) -> list[tuple[str, str, str]]:
    """(code, name, kind) of ``count`` generated clients, for ``add_inventory``."""
    return [(client_code(index), f"Client {index + 1}", "client") for index in range(count)]


def add_inventory(
    session: Any,
    organizations: Iterable[tuple[str, str, str]],
    systems: Iterable[tuple[str, str, str]] = (),
) -> None:
    """Organizations, then systems, each (code, name, kind), through ``inventory.create`` as the
    system actor "bench"; the caller commits."""
    from auditor.schemas.inventory import OrganizationIn, SystemIn
    from auditor.services import inventory
    from auditor.services.context import Actor

    actor = Actor.system("bench")
    for code, name, kind in organizations:
        org = OrganizationIn(code=code, name=name, kind=kind)  # type: ignore[arg-type]
        inventory.create(session, inventory.KINDS["organizations"], org, actor=actor)
    for code, name, kind in systems:
        system = SystemIn(code=code, name=name, kind=kind)  # type: ignore[arg-type]
        inventory.create(session, inventory.KINDS["systems"], system, actor=actor)


# -- the machine and the figures -----------------------------------------------------------------
def load_average() -> float:
    """The 1-minute load average: other work on the machine slows every figure."""
    return round(os.getloadavg()[0], 2)


def machine(load: float, **versions: str | None) -> dict[str, Any]:
    """Python, SQLite (``versions`` may override it and add others, e.g. PostgreSQL's), the CPU
    count and the load average ``load`` taken when the run started."""
    info: dict[str, Any] = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    info.update(versions)
    info.update(cpus=os.cpu_count(), load_average_at_start=load)
    return info


def print_figures(figures: dict[str, Any]) -> None:
    """The figures: one JSON object, the last line of stdout."""
    print(json.dumps(figures), flush=True)
