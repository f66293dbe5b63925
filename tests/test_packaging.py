"""The wheel ships the three packages, the migrations, the policy defaults, the templates and
the web application's stylesheet."""

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
        f"{data}/data/share/pipeda-auditor/templates/reports/_base.html",
        f"{data}/data/share/pipeda-auditor/templates/reports/_macros.html",
        f"{data}/data/share/pipeda-auditor/templates/reports/fonts/DejaVuSans.ttf",
        f"{data}/data/share/pipeda-auditor/templates/reports/fonts/DejaVuSans-Bold.ttf",
        f"{data}/data/share/pipeda-auditor/templates/reports/fonts/LICENSE-DejaVu.txt",
    ):
        assert required in names, required
    assert not any(n.startswith("tests/") for n in names)
    # every file under templates/ (pages, reports, their fonts) is listed in pyproject's data-files
    shipped = {n.split("templates/", 1)[1] for n in names if "/templates/" in n}
    on_disk = {
        str(p.relative_to(ROOT / "templates"))
        for p in (ROOT / "templates").rglob("*")
        if p.is_file()
    }
    assert on_disk == shipped
    # and every file of the web application's stylesheet folder, inside the package
    static = {p.name for p in (ROOT / "auditor" / "static").iterdir() if p.is_file()}
    assert static and {f"auditor/static/{name}" for name in static} <= names


def test_instance_init_creates_private_secrets_once(runner, tmp_path):
    from auditor.cli import main
    from crypto.digest import parse_digest_key

    target = tmp_path / "inst"
    result = runner.invoke(main, ["instance", "init", "--path", str(target)])
    assert result.exit_code == 0, result.output
    key = target / "audit-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (target / "secret_key").stat().st_mode & 0o777 == 0o600
    digest_key = (target / "disposition-key").read_text()
    assert (target / "disposition-key").stat().st_mode & 0o777 == 0o600
    assert len(parse_digest_key(digest_key)) == 32
    before = key.read_bytes()
    again = runner.invoke(main, ["instance", "init", "--path", str(target)])
    assert "kept" in again.output and key.read_bytes() == before
