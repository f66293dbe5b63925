"""Access reviews and deprovisioning times in an evidence bundle (R35, R36, R37)."""

from __future__ import annotations

import datetime as dt

import orjson

from auditor.services import access_reviews
from auditor.services.context import Actor
from auditor.services.vault import store
from tests import factories
from tests.evidence.test_bundle import entries, verify

AT = dt.datetime(2026, 9, 10, 9, tzinfo=dt.UTC)
OFFICER = Actor(name="user:1", user_id=1, role="privacy_officer")
REASON = "Left the company on 31 August (HR ticket)."


def _rows(files: dict[str, bytes], name: str) -> list[dict]:
    [found] = [v for k, v in files.items() if k.endswith("/data/access/" + name)]
    return [orjson.loads(line) for line in found.splitlines()]


def test_the_bundle_carries_the_review_its_decisions_and_the_deprovisioning(
    session, runner, tmp_path, inventory
):
    tech = factories.user(session, role="technician")
    store.grant(session, tech.id, "acme", actor=factories.OPERATOR)
    review = access_reviews.start(session, actor=OFFICER, now=AT)
    access_reviews.decide(
        session,
        review.id,
        user_id=tech.id,
        decision="revoke",
        reason=REASON,
        actor=OFFICER,
        now=AT + dt.timedelta(hours=1),
    )
    session.commit()
    plain, personal = tmp_path / "plain.zip", tmp_path / "personal.zip"
    for path, extra in ((plain, []), (personal, ["--personal-information"])):
        period = ["--from", "2026-09-01", "--to", "2026-09-30", "--output", str(path)]
        result = runner.invoke(args=["evidence", "export", *period, *extra])
        assert result.exit_code == 0, result.output
        assert verify(runner, path).exit_code == 0
    files = entries(plain)
    [found] = _rows(files, "reviews.jsonl")
    assert found["id"] == review.id and found["snapshot_sha256"] == review.snapshot_sha256
    assert found["status"] == "open" and found["revoked"] == 1
    assert tech.id in {a["user_id"] for a in found["snapshot"]["accounts"]}
    [decision] = _rows(files, "decisions.jsonl")
    assert decision["decision"] == "revoke" and decision["has_reason"] is True
    assert "reason" not in decision and REASON.encode() not in b"".join(files.values())
    assert decision["revocation"]["grants_removed"] == ["acme"]
    [ended] = _rows(files, "deprovisioning.jsonl")
    assert ended["user_id"] == tech.id and ended["deactivated_at"] == "2026-09-10T10:00:00.000000Z"
    assert ended["seconds_to_complete"] == 0.0
    [with_reason] = _rows(entries(personal), "decisions.jsonl")
    assert with_reason["reason"] == REASON
