"""The audit log the evidence tests export: October 2026, three organizations, checkpoints."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.services import audit
from auditor.services.context import Actor
from tests import factories

DAY0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def log(session, app, signing_key, inventory):
    """Events over October 2026 (two clients and the MSP), checkpoints inside the period, and
    events after it."""
    origin = app.config["AUDIT_LOG_ORIGIN"]
    orgs = [None, inventory.client.id, inventory.msp.id]
    for day in range(40):
        for n in range(3):
            audit.record(
                session,
                actor=Actor(name=f"user:{factories.OFFICER.user_id}", role="privacy_officer"),
                action="test.work",
                object_type="thing",
                object_id=f"{day}-{n}",
                organization_id=orgs[n],
                details={"day": day, "note": "Québec"},
                now=DAY0 + dt.timedelta(days=day, minutes=n),
            )
        if day in (5, 17, 35):
            audit.create_checkpoint(
                session,
                signing_key=signing_key,
                origin=origin,
                actor=Actor.system("audit.checkpoint"),
                now=DAY0 + dt.timedelta(days=day, hours=1),
            )
    session.commit()
    return origin
