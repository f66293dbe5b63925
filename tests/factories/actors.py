"""Who the services act for in tests: the privacy officer, a technician, an operator."""

from __future__ import annotations

from auditor.services.context import Actor

ACTOR = Actor(name="test:factory", role="admin")  # the factories' own writes
OFFICER = Actor(name="user:7", user_id=7, role="privacy_officer")
TECH = Actor(name="user:9", user_id=9, role="technician")
OPERATOR = Actor(name="cli:ops", role="admin")  # a purge run from the command line
