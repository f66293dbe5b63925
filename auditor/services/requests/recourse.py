"""The recourse hold (R9) of a privacy request, and when the request's own file may go.

The hold is placed on the subject when the request is opened (or when its subject is linked
later) and recomputed whenever the request's due date, response or complaint changes; the
holds service does the computing: max(responded, due) + 6 months, open-ended under complaint.

The request's own file (its documents, decisions and letters) is kept through that recourse
period and then for REQUEST_FILE_RETENTION more (design): ``file_retention_until`` is stored on
the request for the retention engine to use once a ``privacy_request`` rule exists.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import Hold, PrivacyRequest
from auditor.services import holds
from auditor.services.context import Actor
from retention import RECOURSE_PERIOD, Period

# Design: how long a privacy request's own file is kept once the individual's recourse period
# (R9) is over; long enough to answer an OPC inquiry or a repeat request about the handling.
REQUEST_FILE_RETENTION = Period(years=2)


def file_retention_until(request: PrivacyRequest) -> dt.date | None:
    """max(closed, due) + 6 months + REQUEST_FILE_RETENTION; None while the request is open or
    a complaint is recorded (its file is then kept until the complaint is settled)."""
    if request.closed_at is None or request.complaint_at is not None:
        return None
    end = max(request.closed_at, request.due_at).astimezone(dt.UTC).date()
    return REQUEST_FILE_RETENTION.after(RECOURSE_PERIOD.after(end))


def place(session: Session, request: PrivacyRequest, *, actor: Actor, now: dt.datetime) -> None:
    """Put the recourse hold on the request's subject (nothing while the subject is unknown)."""
    if request.subject is None:
        return
    holds.place_recourse_hold(
        session,
        subject_ref=request.subject.ref,
        request_reference=request.reference,
        due_at=request.due_at,
        responded_at=request.closed_at,
        complaint=request.complaint_at is not None,
        actor=actor,
        now=now,
    )


def sync(session: Session, request: PrivacyRequest, *, actor: Actor, now: dt.datetime) -> None:
    """Recompute the hold after a change of due date, response or complaint, and the file's
    retention date with it. A withdrawal counts as the response (design)."""
    request.file_retention_until = file_retention_until(request)
    holds.update_recourse_hold(
        session,
        request_reference=request.reference,
        due_at=request.due_at,
        responded_at=request.closed_at,
        complaint=request.complaint_at is not None,
        actor=actor,
        now=now,
    )


def holds_of(session: Session, request: PrivacyRequest) -> list[Hold]:
    return list(
        session.scalars(
            select(Hold)
            .where(Hold.kind == "recourse", Hold.reference == request.reference)
            .order_by(Hold.id)
        )
    )
