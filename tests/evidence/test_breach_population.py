"""The breach register in an evidence bundle (R24-R27, R37): rows, notices, reports, per client."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from auditor.schemas.breaches import BreachIn, NotificationIn
from auditor.services import breaches
from auditor.services.context import Actor
from tests.evidence.test_bundle import entries, export, verify

OFFICER = Actor(name="user:1", role="privacy_officer")
AT = dt.datetime(2026, 9, 20, 10, tzinfo=dt.UTC)
ROOT = "evidence-2026-10-01--2026-10-31/"
NOTE = "Called Karen Smith at home to explain"


@pytest.fixture
def breach(session, inventory):
    """A breach of acme's people, recorded before the audit log's October events."""
    data = BreachIn(
        title="Misdirected invoice email",
        occurred_from=AT.date(),
        discovered_at=AT,
        determined_at=AT + dt.timedelta(hours=4),
        circumstances="An invoice was emailed to the wrong client's accounts payable address.",
        information="Names and billing addresses of two client staff.",
        affected_count=2,
        client="acme",
    )
    found = breaches.record(session, data, actor=OFFICER, now=AT + dt.timedelta(hours=5))
    breaches.notify(
        session,
        found.reference,
        NotificationIn(
            recipient="organization",
            recipient_name="Beta Corp",
            method="email",
            sent_at=AT + dt.timedelta(hours=6),
            notes=NOTE,
        ),
        actor=OFFICER,
        now=AT + dt.timedelta(hours=7),
    )
    session.commit()
    return found.reference


def _rows(files: dict[str, bytes], name: str) -> list[dict]:
    [found] = [v for k, v in files.items() if k.endswith("/data/breaches/" + name)]
    return [orjson.loads(line) for line in found.splitlines()]


def test_the_bundle_carries_the_register_and_its_notices(runner, tmp_path, breach, log):
    path = export(runner, tmp_path)
    assert verify(runner, path).exit_code == 0
    files = entries(path)
    [row] = _rows(files, "register.jsonl")
    assert row["reference"] == breach and row["client"] == "acme"
    assert row["individuals_affected"] == {"approximate": False, "count": 2}
    assert row["notified"]["organizations"] == ["Beta Corp"]
    assert row["retain_until"] == "2028-09-20"
    [notice] = _rows(files, "notifications.jsonl")
    assert notice["breach"] == breach and "notes" not in notice  # free text: officers opt in
    assert NOTE.encode() not in b"".join(files.values())
    index = orjson.loads(files[ROOT + "data/index.json"])
    entry = next(p for p in index["populations"] if p["file"] == "data/breaches/register.jsonl")
    assert entry["rows"] == 1 and "breach" in entry["query"]
    assert _rows(files, "reports.jsonl") == []


def test_personal_information_adds_the_notes(runner, tmp_path, breach, log):
    path = export(runner, tmp_path, "--personal-information")
    [notice] = _rows(entries(path), "notifications.jsonl")
    assert notice["notes"] == NOTE


def test_a_client_bundle_has_only_that_clients_breaches(runner, tmp_path, breach, log):
    other = export(runner, tmp_path, "--client", "qc-client", name="qc.zip")
    assert _rows(entries(other), "register.jsonl") == []
    own = export(runner, tmp_path, "--client", "acme", name="acme.zip")
    assert [r["reference"] for r in _rows(entries(own), "register.jsonl")] == [breach]
