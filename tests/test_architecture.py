"""Import directions (STYLE.md): crypto and retention never import auditor or flask; services
never import flask; no import circle; modules stay focused."""

from __future__ import annotations

import ast
import sys
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
            assert lines <= 400, f"{path} has {lines} lines"


def test_every_module_opens_with_a_docstring():
    for folder in ("auditor", "crypto", "retention"):
        for path in python_files(folder):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert ast.get_docstring(tree), path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, at any depth of its code (function-local
    imports too, not those under ``if TYPE_CHECKING``). ``from package import name`` counts
    as an import of ``package.name`` when that is a module, else of ``package``."""
    paths = {
        module_name(p): p
        for folder in ("auditor", "crypto", "retention")
        for p in python_files(folder)
        if "migrations" not in p.parts
    }

    def known(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
            for sub in ast.walk(node)
        }
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets.update(filter(None, (known(alias.name) for alias in node.names)))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if full in paths else known(node.module)
                    if target:
                        targets.add(target)
        graph[name] = targets - {name}
    return graph


def test_no_module_imports_itself_through_others():
    """No import circle, however long (the demo's was three modules; the app factory's eight)."""
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circle = [*path[path.index(target) :], target]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_import_graph_sees_a_circle_when_there_is_one(tmp_path, monkeypatch):
    """The check above must be able to fail: two modules importing each other are found."""
    package = tmp_path / "auditor"
    package.mkdir()
    (package / "__init__.py").write_text('"""x."""\n')
    (package / "a.py").write_text('"""a."""\nfrom auditor import b\n')
    (package / "b.py").write_text('"""b."""\n\ndef f():\n    from auditor.a import x\n')
    for folder in ("crypto", "retention"):
        (tmp_path / folder).mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = import_graph()
    assert graph["auditor.a"] == {"auditor.b"} and graph["auditor.b"] == {"auditor.a"}
    with pytest.raises(
        AssertionError, match=r"import circle: auditor\.a -> auditor\.b -> auditor\.a"
    ):
        test_no_module_imports_itself_through_others()
