"""Who is acting: the actor every service call is attributed to in the audit trail."""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The authenticated caller. ``name`` is what the audit trail shows: never an email or token."""

    name: str
    user_id: int | None = None
    role: str | None = None
    source_ip: str | None = None
    #: how the user reached the service when it was not the API: ``cli:<OS account>`` for a
    #: command run as them (``--as``); every audit event they cause carries it as ``details.via``
    via: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        """The OS account running a command that names no user (reads and setup)."""
        return cls(name=os_account(), role="admin")

    @classmethod
    def cli_user(cls, user_id: int, role: str) -> Actor:
        """A user running a command with ``--as`` (or AUDITOR_OPERATOR) from an OS account."""
        return cls(name=f"user:{user_id}", user_id=user_id, role=role, via=os_account())

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(name=f"system:{job}", role="admin")

    @classmethod
    def anonymous(cls, source_ip: str | None) -> Actor:
        return cls(name="anonymous", source_ip=source_ip)


def os_account() -> str:
    """``cli:<login>``: the operating-system account a command runs under."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"cli:{login}"
