"""Benchmark of the HTTP API under gunicorn on SQLite and PostgreSQL (bench/README.md)."""

from __future__ import annotations

import argparse
import collections
import http.client
import importlib.util
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from api_data import build
from common import exit_on_sigterm, load_average, log, machine, parse_size, print_figures
from purge_targets import make_target

DEFAULT_RECORDS = 1_000_000
DATABASES = ("sqlite", "postgresql")
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENDPOINTS = {
    "healthz": "/healthz",
    "me": "/api/v1/me",
    "records": "/api/v1/records?limit=50",
    "requests": "/api/v1/requests?limit=50",
    "holds": "/api/v1/holds?limit=50",
    "audit_events": "/api/v1/audit/events?limit=50",
}
LISTS = ("records", "requests", "holds", "audit_events")
TARGET_RATIO = 0.3
TARGET_P99_MS = 100.0
WRK_LUA = """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  if status < 200 or status > 299 then
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end
function done(summary, latency, requests)
  local bad = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("statuses")) do bad[key] = (bad[key] or 0) + n end
  end
  local e = summary.errors
  local parts = {}
  for key, n in pairs(bad) do table.insert(parts, string.format('"%s": %d', key, n)) end
  for _, key in ipairs({"connect", "read", "write", "timeout"}) do
    if e[key] > 0 then table.insert(parts, string.format('"%s": %d', key, e[key])) end
  end
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": {%s}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, table.concat(parts, ", ")))
end
"""


# -- the server ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``gunicorn "auditor:create_app()"`` in a session of its own, its log in ``log_path``."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.serving = importlib.util.find_spec("auditor.serving") is not None
        config = ["-c", "python:auditor.serving"] if self.serving else []
        env = {**env, "AUDITOR_LOG_LEVEL": "WARNING"}
        if self.serving:  # its metrics folder in ours, removed with it whatever happens
            env["PROMETHEUS_MULTIPROC_DIR"] = str(log_path.parent / "metrics")
            (log_path.parent / "metrics").mkdir()
        command = [sys.executable, "-m", "gunicorn", *config, "--workers", str(workers)]
        command += ["--bind", f"127.0.0.1:{self.port}", "auditor:create_app()"]
        with log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                command, env=env, stdout=out, stderr=out,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds until /healthz answers 200."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                sys.stderr.write(self.log_path.read_text(errors="replace")[-4000:])
                raise SystemExit(f"gunicorn exited with status {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise SystemExit(f"gunicorn not ready after {timeout:.0f} s (log: {self.log_path})")

    def cpu_seconds(self) -> float:
        """User and system CPU time of the workers alive now (the master's children)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return float("nan")
        for pid in children.split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def log_errors(self) -> dict[str, Any]:
        """How many log lines say error/exception/locked, and the first few distinct ones."""
        words = ("error", "exception", "locked", "traceback")
        found = [
            line.strip()[:200]
            for line in self.log_path.read_text(errors="replace").splitlines()
            if any(word in line.lower() for word in words)
        ]
        return {"lines": len(found), "samples": list(dict.fromkeys(found))[:3]}

    def stop(self) -> None:
        """SIGTERM to the master (a graceful stop), then SIGKILL to its session after 30 s."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def fetch_json(base: str, path: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300].decode(errors="replace")


# -- the load generators -------------------------------------------------------------------------
def run_wrk(url: str, token: str, seconds: float, connections: int, script: Path) -> dict[str, Any]:
    """One wrk run: requests, seconds, p50/p99 (ms), errors by kind, wrk's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    proc = subprocess.run(
        command, env={**os.environ, "BENCH_TOKEN": token}, capture_output=True, text=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH ")]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"wrk failed with status {proc.returncode}")
    result: dict[str, Any] = json.loads(lines[-1][6:])
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def run_python(
    url: str, token: str, seconds: float, connections: int, _script: Path
) -> dict[str, Any]:
    """The same with ``connections`` threads, each on its own keep-alive HTTP connection."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[collections.Counter[str]] = [collections.Counter() for _ in range(connections)]
    cpu_before = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine, bad = latencies[index], errors[index]
        while (begin := time.perf_counter()) < deadline:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                bad["timeout" if isinstance(exc, TimeoutError) else "socket"] += 1
                conn.close()
                continue
            mine.append(time.perf_counter() - begin)
            if not 200 <= response.status < 300:
                bad[str(response.status)] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for mine in latencies for x in mine) or [float("nan")]
    total: collections.Counter[str] = sum(errors, collections.Counter())
    return {
        "requests": sum(len(mine) for mine in latencies),
        "seconds": elapsed,
        "p50_ms": every[int(0.50 * (len(every) - 1))] * 1e3,
        "p99_ms": every[int(0.99 * (len(every) - 1))] * 1e3,
        "errors": dict(total),
        "cpu_seconds": time.process_time() - cpu_before,
    }


# -- one database --------------------------------------------------------------------------------
def check_endpoints(name: str, server: Server, token: str) -> dict[str, int]:
    """Each endpoint answers 200 once before the load; how many items each list returned."""
    items: dict[str, int] = {}
    for endpoint, path in ENDPOINTS.items():
        status, body = fetch_json(server.base, path, token)
        if status != 200:
            raise SystemExit(f"{name}: GET {path} answered {status}: {body}")
        if endpoint in LISTS:
            items[f"{endpoint}_items"] = len(body["items"])
            if len(body["items"]) < 50:
                log(f"{name}: warning: {path} has only {len(body['items'])} items")
    return items


def measure(
    options: argparse.Namespace, name: str, server: Server, token: str, script: Path
) -> dict[str, Any]:
    """Every endpoint in turn (a warm-up, then the measured run), /healthz again at the end; the
    figures and the ratios (over the mean of the two /healthz rates: the machine's other work
    varies during a run)."""
    generator = run_wrk if options.load_generator == "wrk" else run_python
    figures: dict[str, Any] = {}
    runs = [*ENDPOINTS.items(), ("healthz_again", ENDPOINTS["healthz"])]
    for endpoint, path in runs:
        url = server.base + path
        if options.warmup > 0:
            generator(url, token, options.warmup, options.connections, script)
        cpu = server.cpu_seconds()
        result = generator(url, token, options.duration, options.connections, script)
        seconds = result["seconds"]
        rate = result["requests"] / seconds
        errors = sum(result["errors"].values())
        figures.update(
            {
                f"{endpoint}_requests_per_s": round(rate, 1),
                f"{endpoint}_p50_ms": round(result["p50_ms"], 2),
                f"{endpoint}_p99_ms": round(result["p99_ms"], 2),
                f"{endpoint}_errors": errors,
                f"{endpoint}_requests": result["requests"],
                f"{endpoint}_loadgen_cpu": round(result["cpu_seconds"] / seconds, 2),
                f"{endpoint}_server_cpu": round((server.cpu_seconds() - cpu) / seconds, 2),
            }
        )
        if errors:
            figures[f"{endpoint}_error_kinds"] = result["errors"]
        log(
            f"{name} {path}: {rate:,.0f} requests/s, p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, errors {errors} {result['errors'] or ''}"
        )
    healthz = (figures["healthz_requests_per_s"] + figures["healthz_again_requests_per_s"]) / 2
    figures["healthz_baseline_requests_per_s"] = round(healthz, 1)
    ratios = {f"{e}_ratio": figures[f"{e}_requests_per_s"] / healthz for e in ("me", *LISTS)}
    figures.update({key: round(ratio, 3) for key, ratio in ratios.items()})
    figures["meets_target"] = (
        all(ratio >= TARGET_RATIO for ratio in ratios.values())
        and all(figures[f"{e}_errors"] == 0 for e, _ in runs)
        and all(figures[f"{e}_p99_ms"] < TARGET_P99_MS for e, _ in runs)
    )
    return figures


def bench_database(
    options: argparse.Namespace, size: int, name: str, folder: Path
) -> dict[str, Any]:
    """The figures of one database, keys prefixed with its name; "_version", "_records"."""
    folder.mkdir(parents=True)
    target = make_target(name, folder, options.postgres_url, options.pg_database)
    target.create()
    server: Server | None = None
    try:
        env, token, built = build(target, size)
        log(f"{name}: data built in {built['data_seconds']:.0f} s, rows {built['rows']}")
        server = Server(env, options.workers, folder / "gunicorn.log")
        ready = server.wait_ready()
        how = "-c python:auditor.serving" if server.serving else "plain flags"
        log(f"{name}: gunicorn ({options.workers} workers, {how}) ready in {ready:.1f} s")
        figures: dict[str, Any] = {"server_start_seconds": round(ready, 1)}
        figures["gunicorn_config"] = "python:auditor.serving" if server.serving else None
        figures.update(check_endpoints(name, server, token))
        script = folder / "bench.lua"
        script.write_text(WRK_LUA)
        figures.update(measure(options, name, server, token, script))
        server.stop()
        figures["server_log_errors"] = server.log_errors()
        for key in ("rows", "bulk_load_seconds", "data_seconds", "database_mb"):
            figures[key] = built[key]
        result = {f"{name}_{key}": value for key, value in figures.items()}
        result.update(_version=built["version"], _records=built["records"])
        return result
    finally:
        if server is not None:
            server.stop()
        target.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default=",".join(DATABASES), help="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=20, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each (0: none)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--load-generator", choices=("auto", "wrk", "python"), default="auto",
        help="auto: wrk when it is installed",
    )  # fmt: skip
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="an admin connection")
    parser.add_argument("--pg-database", default=f"auditor_bench_api_{os.getpid()}")
    options, size = parse_size(parser, DEFAULT_RECORDS, "records", minimum=2_000)
    names = [n.strip() for n in options.databases.split(",") if n.strip()]
    if not names or set(names) - set(DATABASES):
        parser.error(f"--databases: a comma-separated list of {', '.join(DATABASES)}")
    if options.duration < 1 or options.warmup < 0:
        parser.error("--duration: at least 1 second; --warmup: 0 or more")
    if options.load_generator == "auto":
        options.load_generator = "wrk" if shutil.which("wrk") else "python"
    elif options.load_generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    exit_on_sigterm()
    load = load_average()
    started = time.perf_counter()
    log(f"load generator: {options.load_generator}")
    figures: dict[str, Any] = {"size": size}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-api-bench-") as tmp:
        for name in names:
            result = bench_database(options, size, name, Path(tmp) / name)
            versions[name] = result.pop("_version")
            figures["records"] = result.pop("_records")
            figures.update(result)
            shutil.rmtree(Path(tmp) / name, ignore_errors=True)
    figures.update(
        {
            "databases": names,
            "load_generator": options.load_generator,
            "workers": options.workers,
            "connections": options.connections,
            "duration_seconds": options.duration,
            "warmup_seconds": options.warmup,
            "target_ratio": TARGET_RATIO,
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": all(figures[f"{name}_meets_target"] for name in names),
            "total_seconds": round(time.perf_counter() - started, 1),
            "load_average_at_end": load_average(),
            **machine(load, postgresql=versions.get("postgresql")),
        }
    )
    print_figures(figures)


if __name__ == "__main__":
    main()
