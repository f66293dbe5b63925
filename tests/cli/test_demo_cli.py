"""`auditor demo load`: a realistic MSP, idempotent, with a working token."""

from __future__ import annotations

from sqlalchemy import func, select

from auditor.models import DataSubject, Organization, Record, Secret, User, VaultGrant


def test_demo_load_twice_changes_nothing_the_second_time(runner, client, session):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "inserted 700" in first.output and "card numbers redacted 1" in first.output
    token = first.output.strip().splitlines()[-1]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["user"]["role"] == "admin"
    assert "'serveitpro-demo'" in first.output and "privacy@serveitpro.example" in first.output
    officer = session.scalar(select(User).where(User.email == "privacy@serveitpro.example"))
    assert officer.password_hash.startswith("$argon2id$")
    assert officer.totp_secret is None  # the first sign-in enrols the authenticator
    second = runner.invoke(args=["demo", "load", "--no-token"])
    assert "inserted 0, updated 0, unchanged 700" in second.output
    counts = [
        session.scalar(select(func.count()).select_from(m))
        for m in (Organization, DataSubject, Record, User, Secret, VaultGrant)
    ]
    assert counts == [6, 40, 700, 4 + 1, 25, 2]  # the demo's four users and the operator
    quebec = session.scalar(select(Organization).where(Organization.is_quebec))
    assert quebec.code == "laurentide-avocats"
    terminated = session.scalar(
        select(Organization).where(Organization.code == "harbourview-realty")
    )
    assert terminated.agreements[0].status == "terminated"


def test_demo_does_not_bring_back_a_purged_vault(runner, session, tmp_path):
    from auditor.models import Handover

    assert runner.invoke(args=["demo", "load", "--no-token"]).exit_code == 0
    exported = runner.invoke(
        args=[
            "vault",
            "handover",
            "harbourview-realty",
            "--recipient",
            "Dana",
            "--method",
            "USB",
            "--output",
            str(tmp_path / "hv.kdbx"),
        ]
    )
    assert exported.exit_code == 0, exported.output
    export = session.scalars(select(Handover)).one()
    assert (
        runner.invoke(
            args=["vault", "acknowledge", str(export.id), "--by", "Dana", "--note", "ok"]
        ).exit_code
        == 0
    )
    assert runner.invoke(args=["vault", "purge", "harbourview-realty", "--yes"]).exit_code == 0
    assert runner.invoke(args=["demo", "load", "--no-token"]).exit_code == 0
    org = session.scalar(select(Organization).where(Organization.code == "harbourview-realty"))
    remaining = select(func.count()).select_from(Secret).where(Secret.organization_id == org.id)
    assert session.scalar(remaining) == 0


def test_demo_does_not_bring_back_purged_records_and_reviews_invoices(runner, session):
    from auditor.models import DispositionBatch, DispositionReview

    assert runner.invoke(args=["demo", "load", "--no-token"]).exit_code == 0
    purged = runner.invoke(args=["retention", "run", "--yes"])
    assert purged.exit_code == 0, purged.output
    left = session.scalar(select(func.count()).select_from(Record))
    disposed = session.scalar(
        select(func.sum(DispositionBatch.lines)).where(DispositionBatch.subject_type == "record")
    )
    assert disposed > 0 and left == 700 - disposed
    # invoices wait for an officer (the demo's billing rule requires review)
    assert "blocked (pending review)" in purged.output
    opened = runner.invoke(args=["retention", "review", "open"])
    assert opened.exit_code == 0, opened.output
    review = session.scalars(select(DispositionReview)).first()
    assert review is not None and review.rule == "billing_records"
    again = runner.invoke(args=["demo", "load", "--no-token"])
    assert "demo records: left alone" in again.output
    assert session.scalar(select(func.count()).select_from(Record)) == left
