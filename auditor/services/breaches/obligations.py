"""What a breach record still lacks: the seven fields of the report to the OPC (R26), the eight
fields of Québec's confidentiality-incident register (R27), and what its assessment requires."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.models import Breach, BreachNotification, BreachReport
from auditor.services import audit

# R26 (Breach of Security Safeguards Regulations, s. 2(1)): the report's fields, in its order
REPORT_FIELDS = (
    "circumstances_and_cause",
    "date_or_period",
    "information_involved",
    "individuals_affected",
    "steps_to_reduce_harm",
    "steps_to_notify_individuals",
    "contact_person",
)
# R27 (Québec's regulation on confidentiality incidents, s. 11): the register's fields
REGISTER_FIELDS = (
    "information_involved",
    "circumstances",
    "date_or_period",
    "became_aware",
    "persons_concerned",
    "risk_assessment",
    "notices",
    "measures_taken",
)


def _date_or_period(breach: Breach) -> dict[str, Any]:
    return {
        "from": breach.occurred_from.isoformat(),
        "to": breach.occurred_to.isoformat() if breach.occurred_to else None,
        "approximate": breach.occurred_approximate,
    }


def _affected(breach: Breach) -> dict[str, Any] | None:
    if breach.affected_count is None:
        return None
    return {"count": breach.affected_count, "approximate": breach.affected_approximate}


def _contact(breach: Breach) -> dict[str, Any] | None:
    if not breach.contact_name or not (breach.contact_email or breach.contact_phone):
        return None
    return {
        "name": breach.contact_name,
        "title": breach.contact_title,
        "email": breach.contact_email,
        "phone": breach.contact_phone,
    }


def report_fields(breach: Breach) -> dict[str, Any]:
    """The seven fields of R26 as the report gives them (None: still empty)."""
    circumstances = breach.circumstances
    if breach.cause:
        circumstances = f"{circumstances}\n\nCause: {breach.cause}"
    return {
        "circumstances_and_cause": circumstances,
        "date_or_period": _date_or_period(breach),
        "information_involved": breach.information,
        "individuals_affected": _affected(breach),
        "steps_to_reduce_harm": breach.mitigation,
        "steps_to_notify_individuals": breach.notification_steps,
        "contact_person": _contact(breach),
    }


def report_missing(breach: Breach) -> list[str]:
    return [name for name, value in report_fields(breach).items() if value in (None, "")]


def first_notice(notifications: Sequence[BreachNotification], recipient: str) -> str | None:
    """When ``recipient`` was first told, or None."""
    times = [n.sent_at for n in notifications if n.recipient == recipient]
    return audit.format_time(min(times)) if times else None


def _notices(
    notifications: Sequence[BreachNotification], reports: Sequence[BreachReport]
) -> dict[str, Any]:
    return {
        "commission": first_notice(notifications, "cai"),
        "individuals": first_notice(notifications, "individuals"),
        "public_notice": first_notice(notifications, "public"),
        "reports_to_the_commission": sum(1 for r in reports if r.regulator == "cai" and r.sent_at),
    }


def register_fields(
    breach: Breach,
    notifications: Sequence[BreachNotification] = (),
    reports: Sequence[BreachReport] = (),
) -> dict[str, Any]:
    """The eight fields of R27 (None: still empty), for the Québec register."""
    assessed = breach.rrosh is not None and breach.consequences
    notices = _notices(notifications, reports)
    if breach.rrosh and not (notices["commission"] and notices["individuals"]):
        notices_value = None  # a risk of serious injury: both notices must be on record
    elif breach.rrosh is None:
        notices_value = None
    else:
        notices_value = notices | {"public_notice_reason": breach.public_notice_reason}
    return {
        "information_involved": breach.information or breach.information_unknown_reason,
        "circumstances": breach.circumstances,
        "date_or_period": _date_or_period(breach),
        "became_aware": audit.format_time(breach.discovered_at),
        "persons_concerned": _affected(breach),
        "risk_assessment": {
            "sensitivity": breach.sensitivity,
            "misuse_probability": breach.misuse_probability,
            "consequences": breach.consequences,
            "risk_of_serious_injury": breach.rrosh,
            "rationale": breach.rrosh_rationale,
        }
        if assessed
        else None,
        "notices": notices_value,
        "measures_taken": breach.mitigation,
    }


def register_missing(
    breach: Breach,
    notifications: Sequence[BreachNotification] = (),
    reports: Sequence[BreachReport] = (),
) -> list[str]:
    if not breach.quebec:
        return []
    found = register_fields(breach, notifications, reports)
    return [name for name, value in found.items() if value in (None, "")]


def outstanding(
    breach: Breach,
    notifications: Sequence[BreachNotification],
    reports: Sequence[BreachReport],
) -> list[str]:
    """What is still to do, in plain words, from what the record says so far."""
    todo = []
    if breach.determined_at is None:
        todo.append("record when it was determined that a breach occurred (R25 counts from it)")
    if breach.rrosh is None:
        todo.append("assess whether it poses a real risk of significant harm (R24)")
        return todo
    if not breach.rrosh:
        return todo
    told = {n.recipient for n in notifications}
    if not any(r.regulator == "opc" and r.sent_at for r in reports):
        todo.append("report it to the Office of the Privacy Commissioner of Canada (R26)")
    if "individuals" not in told:
        todo.append("notify the individuals affected")
    if breach.quebec and "cai" not in told:
        todo.append("notify the Commission d'accès à l'information du Québec")
    return todo
