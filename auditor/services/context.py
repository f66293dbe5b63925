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

    @classmethod
    def cli(cls) -> Actor:
        try:
            login = getpass.getuser()
        except (KeyError, OSError):
            login = "unknown"
        return cls(name=f"cli:{login}", role="admin")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(name=f"system:{job}", role="admin")

    @classmethod
    def anonymous(cls, source_ip: str | None) -> Actor:
        return cls(name="anonymous", source_ip=source_ip)
