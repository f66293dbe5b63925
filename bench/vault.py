"""Benchmark of the vault on SQLite: seal+store and reveal rates, master and client key rotation.

``python bench/vault.py [SIZE]``: SIZE secrets (default 100,000; at least 200) across 50 clients,
then one more client holding as many for the client key rotation; ``--reveals N`` (default
5,000) of them are revealed. Progress goes to stderr; the figures are one JSON object on the
last line of stdout.

- Seal+store: ``vault.store_many`` (validation, sealing under each client's key, executemany
  inserts, one audit event per batch) and the commit, per client.
- Reveal: the real ``vault.reveal_secret`` service (access check, client keys unwrapped, unseal, the
  ``vault.reveal`` audit event), committed one reveal at a time like an API request, for a random
  sample of the secrets.
- Raw baselines, measured in the same run on the same values: AES-256-GCM from ``cryptography``
  with one fixed key, a fresh 12-byte nonce per value from os.urandom and no associated data:
  ``encrypt`` of every value (``raw_aesgcm_seal_per_s``) and ``decrypt`` of every result
  (``raw_aesgcm_open_per_s``). ``seal_ratio`` and ``reveal_ratio`` divide the service rates by them.
- Rotations run the real commands in child processes, so their wall time includes starting
  Python and the app (``cli_startup_seconds`` measures that alone, with ``auditor keys status``):
  ``auditor keys rotate --yes`` then ``auditor keys rewrap --yes``; and
  ``auditor keys rotate-client CLIENT --yes`` for the client holding 100,000 secrets.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import string
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    add_inventory,
    client_code,
    exit_on_sigterm,
    load_average,
    log,
    machine,
    make_instance,
    parse_size,
    print_figures,
    run_cli,
)

DEFAULT_SECRETS = 100_000
CLIENTS = 50
BIG_CLIENT = "client-big"
DEFAULT_REVEALS = 5_000
SEED = 20261122
TARGET_SEAL_STORE_PER_S = 5_000
TARGET_CLIENT_ROTATION_SECONDS = 5.0
VALUE_OFFSET = 68  # bytes 68+ of a sealed secret: the value part a key rotation leaves identical
ALPHABET = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"
KINDS = ("password", "password", "password", "api_key", "totp_seed")


def make_values(rng: random.Random, count: int) -> list[str]:
    """Credentials of 16 to 40 characters, like generated passwords and API keys."""
    return ["".join(rng.choices(ALPHABET, k=rng.randrange(16, 41))) for _ in range(count)]


# -- the instance ----------------------------------------------------------------------------------
def set_up_clients(app: Any, codes: list[str]) -> None:
    from auditor.db import get_database

    with get_database(app).session() as session:
        add_inventory(session, [(code, code.title(), "client") for code in codes])
        session.commit()


def ring_of(app: Any) -> Any:
    """The ring as configured now (the file changes under rotation: never the cached copy)."""
    from auditor.keys import load_ring

    return load_ring(app.config)


def store(app: Any, code: str, values: list[str], rng: random.Random) -> tuple[float, list[str]]:
    """Seal and store one client's secrets through the service; seconds including the commit."""
    from auditor.db import get_database
    from auditor.schemas.vault import SecretIn
    from auditor.services import vault
    from auditor.services.context import Actor

    ring, actor = ring_of(app), Actor.system("bench")
    kinds = [rng.choice(KINDS) for _ in values]
    with get_database(app).session() as session:
        started = time.perf_counter()
        items = (
            SecretIn.model_validate(
                {
                    "name": f"{kind} {number}",
                    "kind": kind,
                    "username": f"admin{number % 97}@{code}.example.ca",
                    "value": value,
                }
            )
            for number, (kind, value) in enumerate(zip(kinds, values, strict=True))
        )
        refs = vault.store_many(session, ring, code, items, actor=actor)
        session.commit()
        return time.perf_counter() - started, refs


def reveal_sample(app: Any, sample: list[tuple[str, str]]) -> tuple[float, int]:
    """Reveal each (ref, expected value) through reveal_secret, one committed reveal at a time."""
    from auditor.db import get_database
    from auditor.services import vault
    from auditor.services.context import Actor

    ring, actor, wrong = ring_of(app), Actor.system("bench"), 0
    with get_database(app).session() as session:
        started = time.perf_counter()
        for ref, expected in sample:
            revealed = vault.reveal_secret(session, ring, ref, "benchmark read-back", actor=actor)
            session.commit()
            wrong += revealed.value != expected
        return time.perf_counter() - started, wrong


# -- the raw baseline ------------------------------------------------------------------------------
def raw_aesgcm(values: list[str]) -> tuple[float, float]:
    """AES-256-GCM alone: a fixed key, a fresh random nonce per value, no associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead, urandom = AESGCM(os.urandom(32)), os.urandom
    plaintexts = [value.encode() for value in values]
    started = time.perf_counter()
    sealed = []
    for plaintext in plaintexts:
        nonce = urandom(12)
        sealed.append((nonce, aead.encrypt(nonce, plaintext, None)))
    seal_seconds = time.perf_counter() - started
    started = time.perf_counter()
    opened = [aead.decrypt(nonce, c, None) for nonce, c in sealed]
    open_seconds = time.perf_counter() - started
    assert opened == plaintexts
    return seal_seconds, open_seconds


# -- checks ----------------------------------------------------------------------------------------
def snapshot(database: Path, where: str = "", *params: Any) -> dict[str, Any]:
    """Digests of the stored blobs (whole, and value parts) and the key versions in use."""
    with sqlite3.connect(database) as conn:
        whole, values, count = hashlib.sha256(), hashlib.sha256(), 0
        query = "SELECT s.value FROM secret s JOIN organization o ON o.id = s.organization_id"
        for (blob,) in conn.execute(f"{query} {where} ORDER BY s.id", params):
            whole.update(blob)
            values.update(blob[VALUE_OFFSET:])
            count += 1
        versions = conn.execute(
            f"SELECT DISTINCT s.client_key_version FROM secret s "
            f"JOIN organization o ON o.id = s.organization_id {where}",
            params,
        ).fetchall()
        masters = conn.execute("SELECT DISTINCT master_version FROM client_key").fetchall()
        big_keys = conn.execute(
            "SELECT k.version FROM client_key k JOIN organization o ON o.id = k.organization_id "
            "WHERE o.code = ? ORDER BY k.version",
            (BIG_CLIENT,),
        ).fetchall()
    return {
        "secrets": count,
        "blobs": whole.hexdigest(),
        "value_parts": values.hexdigest(),
        "secret_key_versions": sorted(v for (v,) in versions),
        "master_versions": sorted(v for (v,) in masters),
        "big_client_key_versions": [v for (v,) in big_keys],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reveals", type=int, default=DEFAULT_REVEALS, help="default 5,000")
    # at least 200: the checks after the client key rotation read 200 of the big client's
    options, size = parse_size(parser, DEFAULT_SECRETS, "secrets", "--secrets", minimum=200)
    per_client = size // CLIENTS
    count = per_client * CLIENTS
    rng = random.Random(SEED)
    exit_on_sigterm()
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="auditor-vault-bench-") as tmp:
        folder = Path(tmp) / "instance"
        database = folder / "auditor.db"
        env = make_instance(folder, upgrade=True, echo=True)
        os.environ.clear()  # this shell's settings must not leak into the app built here
        os.environ.update(env)
        from auditor import create_app

        app = create_app({"INSTANCE_PATH": str(folder)})
        codes = [client_code(i) for i in range(CLIENTS)]
        set_up_clients(app, [*codes, BIG_CLIENT])
        values = make_values(rng, count)

        log(f"seal+store: {count:,} secrets across {CLIENTS} clients (vault.store_many)")
        seal_seconds, refs = 0.0, []
        for index, code in enumerate(codes):
            chunk = values[index * per_client : (index + 1) * per_client]
            seconds, stored = store(app, code, chunk, rng)
            seal_seconds += seconds
            refs.extend(stored)
        log(f"  {count / seal_seconds:,.0f} secrets/s")
        raw_seal, raw_open = raw_aesgcm(values)

        reveals = min(options.reveals, count)
        picks = rng.sample(range(count), reveals)
        sample = [(refs[i], values[i]) for i in picks]
        log(f"reveal: {reveals:,} random secrets through vault.reveal_secret, one commit each")
        reveal_seconds, wrong = reveal_sample(app, sample)
        log(f"  {reveals / reveal_seconds:,.0f} reveals/s")

        log(f"one client holding {count:,} secrets ({BIG_CLIENT})")
        big_values = make_values(rng, count)
        big_store_seconds, big_refs = store(app, BIG_CLIENT, big_values, rng)

        before = snapshot(database)
        startup_seconds, _ = run_cli(["keys", "status"], env, echo=True)
        log("master key rotation: auditor keys rotate --yes, then auditor keys rewrap --yes")
        rotate_seconds, _ = run_cli(["keys", "rotate", "--yes"], env, echo=True)
        rewrap_seconds, output = run_cli(["keys", "rewrap", "--yes"], env, echo=True)
        rewrapped = int(output.split("re-wrapped ", 1)[1].split()[0])
        after_master = snapshot(database)
        master_wrong = reveal_sample(app, sample[:200])[1]

        where = "WHERE o.code = ?"
        big_before = snapshot(database, where, BIG_CLIENT)
        log(f"client key rotation: auditor keys rotate-client {BIG_CLIENT} --yes")
        client_seconds, _ = run_cli(["keys", "rotate-client", BIG_CLIENT, "--yes"], env, echo=True)
        big_after = snapshot(database, where, BIG_CLIENT)
        big_sample = [(big_refs[i], big_values[i]) for i in rng.sample(range(count), 200)]
        client_wrong = reveal_sample(app, big_sample)[1]
        database_mb = database.stat().st_size / 1e6

    checks = {
        "reveals_match": wrong == 0,
        "master_rewrap_every_client_key_on_new_version": after_master["master_versions"] == [2],
        "master_rewrap_secret_blobs_unchanged": after_master["blobs"] == before["blobs"],
        "master_rewrap_secrets_readable": master_wrong == 0,
        "client_rotation_every_secret_on_new_version": big_after["secret_key_versions"] == [2],
        "client_rotation_value_parts_unchanged": big_after["value_parts"]
        == big_before["value_parts"],
        "client_rotation_blobs_rewrapped": big_after["blobs"] != big_before["blobs"],
        "client_rotation_old_key_deleted": big_after["big_client_key_versions"] == [2],
        "client_rotation_secrets_readable": client_wrong == 0,
    }
    seal_rate, raw_seal_rate = count / seal_seconds, count / raw_seal
    reveal_rate, raw_open_rate = reveals / reveal_seconds, count / raw_open
    figures = {
        "size": size,
        "secrets": count,
        "clients": CLIENTS,
        "seal_store_seconds": round(seal_seconds, 2),
        "seal_store_per_s": round(seal_rate),
        "raw_aesgcm_seal_per_s": round(raw_seal_rate),
        "seal_ratio": round(seal_rate / raw_seal_rate, 4),
        "reveals": reveals,
        "reveal_per_s": round(reveal_rate),
        "raw_aesgcm_open_per_s": round(raw_open_rate),
        "reveal_ratio": round(reveal_rate / raw_open_rate, 5),
        "cli_startup_seconds": round(startup_seconds, 2),
        "master_rotate_rewrap_seconds": round(rotate_seconds + rewrap_seconds, 2),
        "master_rotate_seconds": round(rotate_seconds, 2),
        "master_rewrap_seconds": round(rewrap_seconds, 2),
        "client_keys_rewrapped": rewrapped,
        "client_rotation_secrets": big_after["secrets"],
        "client_rotation_seconds": round(client_seconds, 2),
        "big_client_store_per_s": round(count / big_store_seconds),
        "database_mb": round(database_mb, 1),
        "checks": checks,
        "targets": {
            "seal_store_per_s": TARGET_SEAL_STORE_PER_S,
            "client_rotation_seconds": TARGET_CLIENT_ROTATION_SECONDS,
        },
        "meets_targets": seal_rate >= TARGET_SEAL_STORE_PER_S
        and client_seconds < TARGET_CLIENT_ROTATION_SECONDS
        and all(checks.values()),
        **machine(load),
    }
    print_figures(figures)


if __name__ == "__main__":
    main()
