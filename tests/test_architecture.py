"""Import directions (STYLE.md): crypto and retention never import auditor or flask; services
never import flask; modules stay focused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("package", ["crypto", "retention"])
def test_pure_packages_import_neither_auditor_nor_flask(package):
    for path in python_files(package):
        assert not imports_of(path) & {"auditor", "flask"}, path


def test_crypto_does_not_import_sqlalchemy():
    for path in python_files("crypto"):
        assert "sqlalchemy" not in imports_of(path), path


def test_services_and_models_do_not_import_flask():
    for folder in ("auditor/services", "auditor/models", "auditor/schemas"):
        for path in python_files(folder):
            assert "flask" not in imports_of(path), path


def test_modules_stay_under_about_400_lines():
    for folder in ("auditor", "crypto", "retention"):
        for path in python_files(folder):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= 450, f"{path} has {lines} lines"


def test_every_module_opens_with_a_docstring():
    for folder in ("auditor", "crypto", "retention"):
        for path in python_files(folder):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert ast.get_docstring(tree), path
