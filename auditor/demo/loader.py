"""Loading the demo MSP: its data map, retention rules, users, vault, records, requests and
breaches."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.demo import breaches, requests, vault
from auditor.demo.data import USERS, data_map, records
from auditor.models import PurgeRun, User
from auditor.schemas.users import UserIn
from auditor.services import datamap, retention, users
from auditor.services.context import Actor
from auditor.services.ingest import Ingestor, IngestResult
from crypto.keys import MasterKeyRing

REVIEWED_RULE = "billing_records"
#: the demo users' password for the web sign-in: demo data only, printed by ``demo load``
DEMO_PASSWORD = "serveitpro-demo"  # noqa: S105 - the demo's published password


def load(session: Session, *, actor: Actor, ring: MasterKeyRing | None = None) -> IngestResult:
    datamap.load_defaults(session, actor=actor)
    datamap.import_document(session, data_map(), actor=actor, overwrite=False)
    retention.load_default_rules(session, actor=actor)  # fiscal year-end: the default 12-31
    billing = retention.current_rule(session, REVIEWED_RULE)
    if billing.version == 1 and not billing.requires_review:
        # the demo MSP wants an officer to approve each batch of invoices before disposal
        retention.revise_rule(session, REVIEWED_RULE, {"requires_review": True}, actor=actor)
    for email, name, role in USERS:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            data = UserIn(email=email, name=name, role=role)  # type: ignore[arg-type]
            user = users.create_user(session, data, actor=actor)
        if user.password_hash is None:  # the web sign-in (then TOTP, enrolled at first sign-in)
            users.set_password(session, user.id, DEMO_PASSWORD, actor=actor)
    if ring is not None:
        vault.load(session, ring, actor=actor)
    if session.scalar(select(PurgeRun.id).limit(1)) is not None:
        # a purge has run: loading the records again would bring disposed records back
        result = IngestResult()
    else:
        ingestor = Ingestor(session, actor=actor, source="demo")
        for number, row in enumerate(records(), start=1):
            ingestor.add(number, row)
        result = ingestor.finish()
    now = utcnow()
    requests.load(session, now=now, actor=actor)  # after the records: tasks see them
    breaches.load(session, now=now, actor=actor)
    return result
