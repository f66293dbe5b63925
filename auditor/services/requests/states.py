"""The privacy request state machine: the one table of allowed transitions.

    received ──> verifying ──> in_progress ──> completed
        │            │             │   │  └──> partially_refused
        │            │             │   └─────> refused
        │            └─────────────┴──> extended ──> completed | partially_refused | refused
        └──> (any open state) ──> refused | withdrawn

``extended`` is reached only by recording an extension with its notice (R2/R3); the final states
(completed, partially_refused, refused, withdrawn) have no way out: a reopened matter is a new
request.
"""

from __future__ import annotations

from auditor.models.requests import OPEN_STATUSES, STATUSES

OPEN = OPEN_STATUSES
RESPONSES = ("completed", "partially_refused", "refused")  # a response to the individual
FINAL = (*RESPONSES, "withdrawn")
# the targets that need a recorded refusal: at least one R7 ground and the reasons
REFUSALS = ("partially_refused", "refused")
# the targets that disclose, correct or delete: identity must be verified first
NEEDS_VERIFICATION = ("completed", "partially_refused")
# reached only through their own action, never through a plain transition
BY_ACTION_ONLY = ("extended",)

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"verifying", "in_progress", "extended", "refused", "withdrawn"}),
    "verifying": frozenset({"in_progress", "extended", "refused", "withdrawn"}),
    "in_progress": frozenset(
        {"extended", "completed", "partially_refused", "refused", "withdrawn"}
    ),
    "extended": frozenset({"completed", "partially_refused", "refused", "withdrawn"}),
    "completed": frozenset(),
    "partially_refused": frozenset(),
    "refused": frozenset(),
    "withdrawn": frozenset(),
}

assert set(TRANSITIONS) == set(STATUSES) == set(OPEN) | set(FINAL)


def is_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def is_open(status: str) -> bool:
    return status in OPEN
