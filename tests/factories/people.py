"""Keyword-only builders of people: data subjects (with a marketing consent when asked), users
and their API tokens, and the operator the CLI tests run commands as."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import DataSubject, User
from auditor.schemas.subjects import ConsentIn, SubjectIn
from auditor.schemas.users import TokenIn, UserIn
from auditor.services import subjects, users
from tests.factories.actors import ACTOR, OFFICER
from tests.factories.clock import NOW
from tests.factories.sequence import next_number

EMAIL = "amelie.tremblay@acme.example"  # the requester of the privacy-request tests
NAME = "Amélie Tremblay"


def subject(
    session: Session,
    *,
    email: str | None = None,
    name: str = "Pat Example",
    organization: str | None = None,
    phone: str | None = None,
) -> DataSubject:
    identifiers = [{"kind": "email", "value": email or f"person{next_number()}@example.com"}]
    if phone:
        identifiers.append({"kind": "phone", "value": phone})
    data = SubjectIn(
        display_name=name, kind="client_staff", organization=organization, identifiers=identifiers
    )  # type: ignore[arg-type]
    return subjects.create(session, data, actor=ACTOR)


def person(
    session: Session, *, email: str = EMAIL, name: str = NAME, marketing: bool = False
) -> DataSubject:
    """Amélie Tremblay of acme; with ``marketing``, her newsletter consent given 400 days ago."""
    found = subject(session, email=email, name=name, organization="acme")
    if marketing:
        consent = ConsentIn(
            purpose="marketing",
            given_at=NOW - dt.timedelta(days=400),
            method="web_form",
            text_version="newsletter-v2",
            evidence="form submission 2025-10-18",
        )  # type: ignore[call-arg]
        subjects.add_consent(session, found.ref, consent, actor=OFFICER)
    return found


OPERATOR_EMAIL = "operator@msp.example"  # the admin the CLI tests run commands as (--as)


def operator_user(session: Session) -> User:
    """The tests' CLI operator: an active admin, stored without an audit event of its own so
    that the trail a test inspects holds only what its commands did."""
    found = session.scalar(select(User).where(User.email == OPERATOR_EMAIL))
    if found is None:
        found = User(email=OPERATOR_EMAIL, name="Operator", role="admin")
        session.add(found)
        session.commit()
    return found


class OperatorRunner(FlaskCliRunner):
    """The CLI run by a named user (AUDITOR_OPERATOR, auditor/cli/operator.py): the operator
    unless a test sets ``operator`` (another email, or None to name nobody). ``actor`` is how
    the audit trail names them."""

    operator: str | None = OPERATOR_EMAIL
    actor: str = ""

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Any:
        env = dict(kwargs.pop("env", None) or {})
        if self.operator is not None:
            env.setdefault("AUDITOR_OPERATOR", self.operator)
        return super().invoke(cli, args, env=env, **kwargs)


def operator_runner(app: Flask, session: Session) -> OperatorRunner:
    """A CLI runner of ``app`` whose commands run as the operator (created if need be)."""
    runner = OperatorRunner(app)
    runner.actor = f"user:{operator_user(session).id}"
    return runner


def user(session: Session, *, role: str = "admin", email: str | None = None) -> User:
    email = email or f"{role}{next_number()}@msp.example"
    return users.create_user(
        session,
        UserIn(email=email, name=role.title(), role=role),  # type: ignore[arg-type]
        actor=ACTOR,
    )


def token(
    session: Session,
    *,
    role: str = "admin",
    user_obj: User | None = None,
    days: int = 30,
    now: dt.datetime | None = None,
) -> str:
    owner = user_obj or user(session, role=role)
    secret, _ = users.create_token(
        session,
        owner.id,
        TokenIn(name="test", expires_in_days=days),
        actor=ACTOR,
        default_ttl_days=90,
        now=now,
    )
    return secret
