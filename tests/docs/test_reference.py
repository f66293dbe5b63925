"""The reference parts of the guides equal the code: the role matrix, the settings, the commands
and the endpoints. And the README stays short."""

from __future__ import annotations

import click
import pytest

from auditor import config
from auditor.cli import main
from auditor.permissions import matrix_markdown
from tests.docs.markdown import ROOT

README_LIMIT = 8000  # bytes: a README a person reads; the reference lives in docs/
FLASK_COMMANDS = {"run", "shell", "routes"}  # Flask's own, documented by Flask


def doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "") -> list[str]:
    """'retention', 'retention review', 'retention review open', ... for every (sub)command."""
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths += command_paths(command, prefix=f"{path} ")
    return paths


def test_readme_is_short():
    size = len((ROOT / "README.md").read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; move reference material to docs/"


def test_roles_guide_carries_the_role_matrix_of_the_code():
    assert matrix_markdown() in doc("roles.md")


def test_operator_guide_documents_every_setting_with_its_default():
    guide = doc("operator-guide.md")
    missing = [
        name
        for name, default, text in config.describe()
        if f"| `{name}` | `{default!r}` | {text} |" not in guide
    ]
    assert not missing, missing


@pytest.fixture
def commands(app) -> list[str]:
    standalone = {n: c for n, c in main.commands.items() if n not in FLASK_COMMANDS}
    groups = {n: c for n, c in app.cli.commands.items() if n not in FLASK_COMMANDS}
    return command_paths(click.Group(commands={**standalone, **groups}))


def test_cli_guide_names_every_command(commands):
    guide = doc("cli.md")
    assert len(commands) > 50
    missing = [path for path in commands if f"`{path}" not in guide]
    assert not missing, missing


def test_api_guide_lists_every_endpoint_with_its_permission(app):
    from auditor.views.api import REGISTRY

    guide = doc("api.md")
    missing = []
    for endpoint in REGISTRY:
        permission = f"`{endpoint.permission.value}`" if endpoint.permission else "none"
        if f"| `{endpoint.method} {endpoint.path}` | {permission} |" not in guide:
            missing.append(f"{endpoint.method} {endpoint.path} ({permission})")
    assert len(REGISTRY) > 100
    assert not missing, missing


def test_api_guide_lists_every_path_of_the_openapi_description(client):
    described = client.get("/api/v1/openapi.json").get_json()["paths"]
    guide = doc("api.md")
    missing = [
        f"{method.upper()} {path}"
        for path, operations in described.items()
        for method in operations
        if f"`{method.upper()} {path}`" not in guide
    ]
    assert not missing, missing


def identity_rows() -> list[str]:
    """The rows of cli.md's "Who may run what": every command that takes ``--as``."""
    from auditor.cli.common import IDENTITIES, command_path

    rows = []
    for command, identity in IDENTITIES.items():
        if identity is None:
            continue
        who = (
            f"a named user with `{identity.permission.value}`"
            if identity.required
            else f"anyone; a named user needs `{identity.permission.value}`"
        )
        if identity.bootstrap is not None:
            who += " (nobody named while no active admin exists)"
        rows.append(f"| `{command_path(command)}` | {who} |")
    return sorted(rows)


def test_cli_guide_says_who_may_run_each_command():
    guide = doc("cli.md")
    rows = identity_rows()
    assert len(rows) > 50
    missing = [row for row in rows if row not in guide]
    assert not missing, "\n".join(missing)


def test_web_guide_lists_every_page_with_its_permission(app):
    from auditor.pages import PAGES

    guide = doc("web.md")
    missing = []
    for page in PAGES:
        if page.public:
            allowed = "public"
        elif page.permission is None:
            allowed = "signed in"
        else:
            allowed = f"`{page.permission.value}`"
        missing += [
            f"{method} {page.rule}"
            for method in page.methods
            if f"| `{method} {page.rule}` | {allowed} |" not in guide
        ]
    assert not missing, missing
