"""TOTP secrets under the master key: sealed at enrolment, resealed by a master rotation's
rewrap, and a master version cannot be retired while a TOTP secret is still under it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from auditor.services import mfa
from auditor.services.errors import Conflict
from auditor.services.vault import keys as vault_keys
from auditor.services.vault import rotation as vault_rotation
from auditor.services.vault.status import key_status, totp_by_master
from crypto import master_sealed
from tests.factories import ACTOR, NOW
from tests.factories.web import code_at, web_user


def test_rotation_reseals_totp_secrets_and_retirement_waits_for_it(session, inventory, keyring):
    vault_keys.check_master_keys(session, keyring)
    person = web_user(session, enrolled=False)
    secret = mfa.new_secret()
    assert mfa.enrol(
        session, person, secret, code_at(secret, NOW), ring=keyring, actor=ACTOR, now=NOW
    )
    assert person.totp_master_version == keyring.current == 1
    session.commit()
    rotated = vault_rotation.rotate_master(session, keyring, actor=ACTOR, save=lambda ring: None)
    session.commit()
    with pytest.raises(Conflict, match="1 TOTP secret"):
        vault_rotation.retire_master(session, rotated, 1, actor=ACTOR)
    result = vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR)
    assert (result.totp_pending, result.totp_resealed) == ({1: 1}, 1)
    session.refresh(person)
    assert person.totp_master_version == 2 == master_sealed.master_version_of(person.totp_secret)
    assert mfa.secret_of(rotated.drop_version(1), person) == secret
    assert totp_by_master(session) == {2: 1}
    status = {m.version: m.totp_secrets for m in key_status(session, rotated).masters}
    assert status == {1: 0, 2: 1}
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "keys.rewrap").order_by(AuditEvent.seq)
    ).all()[-1]
    assert event.details == {"master_version": 2, "totp_resealed": 1, "from_versions": {"1": 1}}
    assert secret not in str(event.details)
    vault_rotation.retire_master(session, rotated, 1, actor=ACTOR)
    again = vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR)
    assert (again.totp_pending, again.totp_resealed) == ({}, 0)
