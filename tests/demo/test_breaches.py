"""The demo MSP's breach register: one breach with no real risk, one reported, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select

from auditor import demo
from auditor.models import Breach, BreachNotification, BreachReport
from auditor.services import breaches
from auditor.services.context import Actor


def test_demo_breaches_show_both_conclusions_and_load_once(session):
    actor = Actor.cli()
    demo.load(session, actor=actor)
    found = {b.title: breaches.to_out(session, b) for b in session.scalars(select(Breach))}
    assert len(found) == 2
    misdirected = found["Invoice emailed to the wrong client"]
    assert misdirected.rrosh is False and misdirected.outstanding == []
    phishing = found["Help-desk mailbox opened after a phishing email"]
    assert phishing.quebec and phishing.client == "laurentide-avocats"
    assert phishing.rrosh is True
    assert phishing.report_missing == [] and phishing.register_missing == []
    assert phishing.outstanding == []
    assert sorted((r.regulator, r.version, r.sent_at is not None) for r in phishing.reports) == [
        ("cai", 1, True),
        ("opc", 1, True),
    ]
    demo.load(session, actor=actor)
    assert session.scalar(select(func.count()).select_from(Breach)) == 2
    assert session.scalar(select(func.count()).select_from(BreachReport)) == 2
    assert session.scalar(select(func.count()).select_from(BreachNotification)) == 3
