"""`auditor inventory`: policy defaults, and an export that import reads back unchanged."""

from __future__ import annotations

import json

from sqlalchemy import select

from auditor import demo
from auditor.models import DataCategory
from auditor.services.context import Actor
from tests.factories import app_settings


def test_load_defaults_loads_the_policy_schedule_and_keeps_edits(runner, session):
    result = runner.invoke(args=["inventory", "load-defaults"])
    assert result.exit_code == 0, result.output
    assert "categories      created 8" in result.output
    logs = session.scalar(select(DataCategory).where(DataCategory.code == "security_logs"))
    assert (logs.min_retention_days, logs.max_retention_days, logs.trigger) == (
        90,
        365,
        "created_at",
    )
    billing = session.scalar(select(DataCategory).where(DataCategory.code == "billing_records"))
    assert billing.max_retention_days == 2557 and "Canada Revenue Agency" in billing.basis
    logs.max_retention_days = 180
    session.commit()
    again = runner.invoke(args=["inventory", "load-defaults"])
    assert "categories      created 0  updated 0  unchanged 8" in again.output
    session.refresh(logs)
    assert logs.max_retention_days == 180
    runner.invoke(args=["inventory", "load-defaults", "--overwrite"])
    session.refresh(logs)
    assert logs.max_retention_days == 365


def test_export_then_import_into_an_empty_database_is_unchanged(runner, session, tmp_path):
    demo.load(session, actor=Actor.cli())
    session.commit()
    first = tmp_path / "map.json"
    result = runner.invoke(args=["inventory", "export", "-o", str(first)])
    assert result.exit_code == 0, result.output
    document = json.loads(first.read_text())
    assert {"organizations", "systems", "categories", "subjects"} <= set(document)
    assert len(document["subjects"]) == 40
    # re-importing the same file over the same data changes nothing
    result = runner.invoke(args=["inventory", "import", str(first)])
    assert result.exit_code == 0, result.output
    assert "updated 1" not in result.output and "created 1" not in result.output
    second = tmp_path / "map2.json"
    runner.invoke(args=["inventory", "export", "-o", str(second)])
    assert second.read_text() == first.read_text()


def test_import_into_an_empty_database_recreates_the_map(app, runner, session, tmp_path):
    demo.load(session, actor=Actor.cli())
    session.commit()
    exported = tmp_path / "map.json"
    runner.invoke(args=["inventory", "export", "-o", str(exported), "--without-subjects"])
    # a fresh schema in another database
    from auditor import create_app, migrate
    from auditor.db import get_database

    other = create_app(app_settings(f"sqlite:///{tmp_path / 'other.db'}"))
    migrate.upgrade(get_database(other).engine)
    other_runner = other.test_cli_runner()
    # a fresh database has no user yet: its first admin is created unnamed, then acts
    first = ["users", "create", "first@msp.example", "--name", "First", "--role", "admin"]
    assert other_runner.invoke(args=first).exit_code == 0
    as_first = {"AUDITOR_OPERATOR": "first@msp.example"}
    result = other_runner.invoke(args=["inventory", "import", str(exported)], env=as_first)
    assert result.exit_code == 0, result.output
    assert "organizations   created 6" in result.output
    again = tmp_path / "again.json"
    other_runner.invoke(args=["inventory", "export", "-o", str(again), "--without-subjects"])
    assert again.read_text() == exported.read_text()
    get_database(other).engine.dispose()


def test_bad_import_changes_nothing_and_says_why(runner, session, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": "auditor-data-map",
                "version": 1,
                "purposes": [{"code": "ok", "name": "OK"}],
                "categories": [{"code": "x", "name": "X", "purposes": ["missing"]}],
            }
        )
    )
    result = runner.invoke(args=["inventory", "import", str(bad)])
    assert result.exit_code == 1
    assert "Unknown purposes code." in result.output
    assert "purposes: no purposes 'missing'" in result.output
    assert session.scalars(select(DataCategory)).all() == []
    not_json = tmp_path / "not.json"
    not_json.write_text("{nope")
    result = runner.invoke(args=["inventory", "import", str(not_json)])
    assert result.exit_code == 1 and "is not a JSON file" in result.output
    wrong_shape = tmp_path / "shape.json"
    wrong_shape.write_text(json.dumps({"format": "something-else", "version": 1}))
    result = runner.invoke(args=["inventory", "import", str(wrong_shape)])
    assert result.exit_code == 1 and "format:" in result.output
