"""A fork server for the ``auditor`` command, so that dozens of documented examples run in seconds.

Starting ``auditor`` spends about two seconds importing (Flask, SQLAlchemy, WeasyPrint, ...) before
it does anything. The server imports ``auditor.cli`` once, then forks a child for every command.
The child takes the caller's argv, environment, working folder and standard streams, and runs
the same ``auditor.cli:main`` that ``.venv/bin/auditor`` runs. A tiny client script stands in for
``auditor`` on PATH. It forwards SIGTERM and SIGINT to the child and exits with the child's
status. Nothing is cached between commands: each child starts from the freshly imported modules.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SERVER = textwrap.dedent(
    r"""
    import array, atexit, json, os, signal, socket, sys

    import auditor.cli
    import auditor.scheduler
    import auditor.views

    auditor.views.blueprints()  # the views' imports: pydantic schemas, reports, services

    path = sys.argv[1]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print("ready", flush=True)

    def child(conn, fds, request):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        listener.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["auditor", *request["argv"]]
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        try:
            auditor.cli.main.main(args=request["argv"], prog_name="auditor")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        conn.sendall(json.dumps({"status": code}).encode() + b"\n")
        os._exit(code)

    while True:
        conn, _ = listener.accept()
        fds = array.array("i")
        data, ancillary, _, _ = conn.recvmsg(1 << 20, socket.CMSG_LEN(3 * fds.itemsize))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        while not data.endswith(b"\n"):
            data += conn.recv(1 << 20)
        if os.fork() == 0:
            child(conn, list(fds), json.loads(data))
        for fd in fds:
            os.close(fd)
        conn.close()
    """
)

CLIENT = textwrap.dedent(
    r"""
    #!{python} -IS
    import array, json, os, signal, socket, sys

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect({path!r})
    request = {{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
    fds = array.array("i", [0, 1, 2])
    sock.sendmsg(
        [json.dumps(request).encode() + b"\n"],
        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())],
    )
    replies = sock.makefile("rb")
    pid = json.loads(replies.readline())["pid"]
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, frame: os.kill(pid, signum))
    line = replies.readline()
    sys.exit(json.loads(line)["status"] if line else 1)
    """
).lstrip()


class ForkServer:
    """The server process, and a ``bin`` folder whose ``auditor`` is the client."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        socket_path = folder / "auditor.sock"
        self.log = (folder / "forkserver.log").open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(socket_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        assert ready == "ready", f"the fork server did not start: see {folder}/forkserver.log"
        self.client = folder / "auditor"
        self.client.write_text(
            CLIENT.format(python=sys.executable, path=str(socket_path)), encoding="utf-8"
        )
        self.client.chmod(0o755)

    def venv(self, folder: Path, real: Path) -> Path:
        """A ``.venv`` in ``folder`` whose ``bin/auditor`` is the client; everything else links
        to the real virtual environment ``real``."""
        venv = folder / ".venv"
        (venv / "bin").mkdir(parents=True)
        for entry in real.iterdir():
            if entry.name != "bin":
                (venv / entry.name).symlink_to(entry)
        for entry in (real / "bin").iterdir():
            if entry.name != "auditor":
                (venv / "bin" / entry.name).symlink_to(entry)
        (venv / "bin" / "auditor").symlink_to(self.client)
        return venv

    def stop(self) -> None:
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
