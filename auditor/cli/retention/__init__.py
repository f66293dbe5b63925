"""``auditor retention``: rules, the dry run, purges and their proof, review, the schedule.

- ``rules``: the versioned rules (list, load the defaults) and the disposition plan (dry run).
- ``runs``: purge runs (``run``, ``runs``), a run's certificate, the R22 disposition report.
- ``review``: disposition review batches (open, show, decide).
- ``schedule``: what falls due in the coming months (table, JSON or PDF).
"""

from __future__ import annotations

from auditor.cli.retention import review, rules, runs, schedule

__all__ = ["review", "rules", "runs", "schedule"]
