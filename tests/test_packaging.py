"""The wheel ships the three packages, the migrations, the policy defaults and the templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_contains_everything_a_non_editable_install_needs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("pipeda_auditor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    for required in (
        "auditor/__init__.py",
        "crypto/merkle.py",
        "retention/__init__.py",
        "auditor/migrations/env.py",
        "auditor/migrations/versions/0001_initial_schema.py",
        "auditor/data/policy-defaults.json",
        f"{data}/data/share/pipeda-auditor/templates/base.html",
        f"{data}/data/share/pipeda-auditor/templates/pages/index.html",
        f"{data}/data/share/pipeda-auditor/templates/errors/error.html",
    ):
        assert required in names, required
    assert not any(n.startswith("tests/") for n in names)
    # every template in the repository is listed in pyproject's data-files
    shipped = {n.split("templates/", 1)[1] for n in names if "/templates/" in n}
    on_disk = {str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*.html")}
    assert on_disk == shipped


def test_instance_init_creates_private_secrets_once(runner, tmp_path):
    from auditor.cli import main

    target = tmp_path / "inst"
    result = runner.invoke(main, ["instance", "init", "--path", str(target)])
    assert result.exit_code == 0, result.output
    key = target / "audit-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (target / "secret_key").stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    again = runner.invoke(main, ["instance", "init", "--path", str(target)])
    assert "kept" in again.output and key.read_bytes() == before
