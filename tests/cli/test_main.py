"""The ``auditor`` command before anything is configured: help, ``instance init`` and ``keys
generate`` work; a command that touches data stops with a clear message (exit status 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.cli.groups import ALL

pytestmark = pytest.mark.slow


def python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Python ``code`` as on a fresh install: no AUDITOR_* setting, no instance folder (not even
    the checkout's ./instance, the default of an editable install, which ``make run`` fills)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "FLASK_"))}
    env["HOME"] = str(cwd)
    env["AUDITOR_INSTANCE_PATH"] = str(cwd / "instance")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return python("from auditor.cli import main; main(prog_name='auditor')", *args, cwd=cwd)


#: every group's help, in one process (a process per group would cost a second each)
EVERY_HELP = """
import sys
from click.testing import CliRunner
from auditor.cli import main
for name in sys.argv[1:]:
    done = CliRunner().invoke(main, [*name.split(), "--help"], prog_name="auditor")
    print(name, done.exit_code, done.output.splitlines()[0], sep="|")
"""


def test_help_lists_every_group_without_any_configuration(tmp_path):
    done = auditor("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for group in ALL:
        assert f"  {group.name} " in done.stdout
    assert "--app" not in done.stdout and "must be set" not in done.stderr
    assert not (tmp_path / "instance").exists()


def test_every_group_and_subgroup_shows_its_help_without_any_configuration(tmp_path):
    names = [group.name for group in ALL] + ["retention rules", "retention review"]
    done = python(EVERY_HELP, *names, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = [line.split("|") for line in done.stdout.splitlines()]
    assert [(name, code) for name, code, _ in shown] == [(name, "0") for name in names]
    assert all(usage.startswith(f"Usage: auditor {name} [OPTIONS]") for name, _, usage in shown)


def test_instance_init_and_keys_generate_need_no_configuration(tmp_path):
    done = auditor("instance", "init", "--path", str(tmp_path / "instance"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600
    printed = auditor("keys", "generate", "--print", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert len(printed.stdout.strip()) == 44  # base64 of 32 bytes


def test_a_command_that_touches_data_says_what_configuration_is_missing(tmp_path):
    done = auditor("holds", "list", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: AUDITOR_SECRET_KEY")
    assert "auditor instance init" in done.stderr and "Traceback" not in done.stderr


def test_every_command_is_registered_on_the_auditor_command_and_the_app(app):
    """One registration: the groups of auditor/cli/groups.py on both ``auditor`` and app.cli."""
    assert {group.name for group in ALL} <= set(main.commands)
    assert all(app.cli.commands[group.name] is group for group in ALL)
