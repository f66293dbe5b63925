"""``auditor access``: a review from the command line, and deprovisioning times."""

from __future__ import annotations

import json

from sqlalchemy import select

from auditor.models import User
from auditor.services.vault import store
from tests import factories


def test_a_review_from_start_to_completion(runner, session, inventory):
    tech = factories.user(session, role="technician", email="tech@msp.example")
    store.grant(session, tech.id, "acme", actor=factories.OPERATOR)
    session.commit()
    started = runner.invoke(args=["access", "review-start"])
    assert started.exit_code == 0, started.output
    assert "started: " in started.stdout and "snapshot SHA-256 " in started.stdout
    review_id = started.stdout.split()[2]
    undecided = runner.invoke(args=["access", "decide", review_id, "tech@msp.example"])
    assert undecided.exit_code != 0 and "--keep or --revoke" in undecided.output
    revoked = runner.invoke(
        args=["access", "decide", review_id, "tech@msp.example", "--revoke", "--reason", "Left."]
    )
    assert revoked.stdout.strip() == f"review {review_id}: tech@msp.example revoke (deprovisioned)"
    refused = runner.invoke(args=["access", "review-complete", review_id])
    assert refused.exit_code == 1 and "have no decision yet" in refused.stderr
    shown = json.loads(runner.invoke(args=["access", "review-show", review_id]).stdout)
    for account in shown["snapshot"]["accounts"]:
        if account["user_id"] != tech.id:
            email = session.get(User, account["user_id"]).email
            kept = runner.invoke(
                args=[
                    "access",
                    "decide",
                    review_id,
                    email,
                    "--keep",
                    "--reason",
                    "Still in the same role.",
                ]
            )
            assert kept.exit_code == 0, kept.output
    done = runner.invoke(args=["access", "review-complete", review_id])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(args=["access", "reviews"]).stdout
    assert "completed" in listed and "1 revoked" in listed
    times = runner.invoke(args=["access", "deprovisioning"]).stdout
    assert f"user {tech.id} (technician): 0 token(s), 0 session(s), grants acme" in times
    session.expire_all()
    assert session.scalar(select(User.is_active).where(User.id == tech.id)) is False


def test_nothing_yet(runner, session, inventory):
    assert runner.invoke(args=["access", "reviews"]).stdout.strip() == "no access reviews"
    none = runner.invoke(args=["access", "deprovisioning", "--from", "2026-01-01"]).stdout
    assert none.strip() == "no deprovisioned accounts"
    bad = runner.invoke(args=["access", "review-show", "99"])
    assert bad.exit_code == 1 and "No access review with that id." in bad.stderr
