"""Benchmark of evidence bundles: ``auditor evidence export`` and ``auditor evidence verify``.

``python bench/evidence.py [SIZE]``: a scratch SQLite instance holding SIZE audit events
(default 1,000,000) spread over January to June 2026, with a signed checkpoint a month; the real
commands export the whole period and verify the bundle, each in a child process (wall time,
peak RSS from ``wait4``). Progress goes to stderr; the figures are one JSON object on the last
line of stdout.

- The events are written by a child with the audit trail's own canonical form and hashing, in
  bulk (an ordinary event per row: actor, action, object, organization, details), then the
  checkpoints are signed by ``audit.create_checkpoint`` at their month's end.
- Baseline, measured in the same run: the bundle's own ``data/audit/events.jsonl``, read from a
  file and written into a ZIP with the same compression, nothing else done.
  ``export_ratio`` = baseline seconds / export seconds, ``verify_ratio`` = baseline seconds /
  verify seconds: both throughputs over the baseline's, on the same events.
- Targets (issue 14): both ratios at least 0.5; peak RSS of each command under 250 MB; the
  bundle verifies, holds every event, and ``bagit`` validates it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import (
    exit_on_sigterm,
    load_average,
    log,
    machine,
    make_instance,
    parse_size,
    print_figures,
    run_child,
    script,
)

DEFAULT_EVENTS = 1_000_000
TARGET_RATIO = 0.5
TARGET_PEAK_RSS_MB = 250
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MONTHS = 6
CLI = [sys.executable, "-c", "from auditor.cli import main; main()"]


def generate(size: int) -> None:
    """Child: SIZE events over six months and a checkpoint at each month's end (signed as
    ``audit.create_checkpoint`` signs them, from a running tree rather than a re-read log)."""
    from sqlalchemy import insert

    from auditor import create_app
    from auditor.db import get_session
    from auditor.keys import audit_origin, audit_signing_key
    from auditor.models import AuditCheckpoint, AuditEvent
    from auditor.services import audit
    from auditor.services.context import Actor
    from crypto import merkle
    from crypto.note import Checkpoint, sign_note

    app = create_app()
    step = (dt.datetime(2026, 7, 1, tzinfo=dt.UTC) - START) / size
    pending = [dt.datetime(2026, m + 1, 1, tzinfo=dt.UTC) for m in range(1, MONTHS + 1)]
    with app.app_context():
        session = get_session()
        key, origin = audit_signing_key(), audit_origin()
        tree = merkle.TreeBuilder()
        prev, rows = audit.GENESIS_HASH, []
        for event in audit.iter_events(session):  # the operator's creation, made before
            tree.append_leaf_hash(bytes.fromhex(event.leaf_hash))
            prev = event.leaf_hash

        def flush() -> None:
            if rows:
                session.execute(insert(AuditEvent), rows)
                rows.clear()

        def checkpoint(moment: dt.datetime) -> str:
            flush()
            root = tree.root()
            body = Checkpoint(origin, tree.size, root, (f"time {audit.format_time(moment)}",))
            row = AuditCheckpoint(
                tree_size=tree.size,
                root_hash=root.hex(),
                created_at=moment,
                note=sign_note(body.text(), origin, key),
            )
            session.add(row)
            session.flush()
            event = audit.record(
                session,
                actor=Actor.system("audit.checkpoint"),
                action="audit.checkpoint",
                object_type="audit_checkpoint",
                object_id=row.id,
                details={"tree_size": tree.size, "root_hash": root.hex()},
                now=moment,
            )
            tree.append_leaf_hash(bytes.fromhex(event.leaf_hash))
            return event.leaf_hash

        for n in range(size):
            moment = START + step * n
            if pending and moment >= pending[0]:
                prev = checkpoint(pending.pop(0) - dt.timedelta(microseconds=1))
            row = {
                "seq": tree.size + 1,
                "occurred_at": moment,
                "actor": f"user:{1 + n % 7}",
                "action": ("vault.reveal", "records.read", "requests.update")[n % 3],
                "object_type": "secret",
                "object_id": str(n),
                "organization_id": None,
                "source_ip": "192.0.2.10",
                "outcome": "success",
                "details": {"reason": "ticket 4412: reset the router", "n": n},
                "prev_hash": prev,
            }
            leaf = merkle.leaf_hash(audit.canonical_entry(_Row(row)))
            row["leaf_hash"] = prev = leaf.hex()
            tree.append_leaf_hash(leaf)
            rows.append(row)
            if len(rows) == 5000:
                flush()
        checkpoint(dt.datetime.now(dt.UTC))
        session.commit()
        total = tree.size
    print(json.dumps({"events": total}))


class _Row:
    def __init__(self, values: dict[str, object]) -> None:
        self.__dict__.update(values)


def baseline(events: Path, out: Path) -> None:
    """Child: the JSON Lines into a ZIP, the bundle's compression, nothing else."""
    from auditor.services.evidence.bag import CHUNK, LEVEL

    started = time.perf_counter()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as archive:
        info = zipfile.ZipInfo("events.jsonl", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.file_size = events.stat().st_size
        with events.open("rb") as source, archive.open(info, "w") as target:
            shutil.copyfileobj(source, target, CHUNK)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", nargs=2, type=Path, help=argparse.SUPPRESS)
    options, size = parse_size(parser, DEFAULT_EVENTS, "audit events", alias="--events")
    if options.generate:
        generate(size)
        return
    if options.baseline:
        baseline(*options.baseline)
        return
    exit_on_sigterm()
    load = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="auditor-evidence-bench-") as tmp:
        folder = Path(tmp)
        env = make_instance(folder / "instance", upgrade=True)
        log(f"generating {size:,} audit events")
        made = run_child([*script(__file__), str(size), "--generate"], env)
        total = json.loads(made.output.strip().splitlines()[-1])["events"]
        bundle = folder / "bundle.zip"
        log("auditor evidence export")
        export = run_child(
            [*CLI, "evidence", "export", "--from", "2026-01-01", "--to", "2026-06-30",
             "--output", str(bundle)],
            env,
        )  # fmt: skip
        log("auditor evidence verify")
        verify = run_child([*CLI, "evidence", "verify", str(bundle)], env)
        with zipfile.ZipFile(bundle) as archive:
            root = archive.namelist()[0].split("/", 1)[0]
            archive.extract(f"{root}/data/audit/events.jsonl", folder / "out")
            archive.extractall(folder / "bag")
        events = folder / "out" / root / "data" / "audit" / "events.jsonl"
        lines = sum(1 for _ in events.open("rb"))
        log("baseline: the same JSON Lines into a ZIP")
        base = run_child(
            [*script(__file__), "--baseline", str(events), str(folder / "base.zip")], env
        )
        base_seconds = json.loads(base.output.strip().splitlines()[-1])["seconds"]
        import bagit  # the auditor's validator (a dev dependency)

        try:
            bagit.Bag(str(folder / "bag" / root)).validate()
            valid = True
        except bagit.BagError:
            valid = False
        checks = {
            "verified": "evidence bundle intact" in verify.output,
            # every generated event and the monthly checkpoints' (not the setup's, made today)
            "every_event_in_slice": lines == size + MONTHS - 1,
            "bagit_valid": valid,
        }
        export_ratio = base_seconds / export.seconds
        verify_ratio = base_seconds / verify.seconds
        figures = {
            "size": size,
            "events": total,
            "slice_events": lines,
            "bundle_mb": round(bundle.stat().st_size / 1e6, 1),
            "events_jsonl_mb": round(events.stat().st_size / 1e6, 1),
            "export_seconds": round(export.seconds, 2),
            "export_events_per_s": round(lines / export.seconds),
            "export_peak_rss_mb": round(export.peak_rss_mb, 1),
            "verify_seconds": round(verify.seconds, 2),
            "verify_events_per_s": round(lines / verify.seconds),
            "verify_peak_rss_mb": round(verify.peak_rss_mb, 1),
            "baseline_zip_seconds": round(base_seconds, 2),
            "export_ratio": round(export_ratio, 3),
            "verify_ratio": round(verify_ratio, 3),
            "checks": checks,
            "target_ratio": TARGET_RATIO,
            "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
            "meets_targets": export_ratio >= TARGET_RATIO
            and verify_ratio >= TARGET_RATIO
            and export.peak_rss_mb < TARGET_PEAK_RSS_MB
            and verify.peak_rss_mb < TARGET_PEAK_RSS_MB
            and all(checks.values()),
            "total_seconds": round(time.perf_counter() - started, 1),
            **machine(load),
        }
    print_figures(figures)


if __name__ == "__main__":
    main()
