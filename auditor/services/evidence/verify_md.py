"""VERIFY.md: how an auditor checks a bundle with standard tools alone (CI runs its commands)."""

from __future__ import annotations

_TEXT = """\
# Verifying this evidence bundle

This folder is a BagIt bag (RFC 8493). Its tag manifest is signed with Ed25519. You can check it
with standard tools alone: coreutils, OpenSSL 3 and, optionally, `bagit.py` (`pip install bagit`).
You do not need the software that produced it.

Before you start, get the signing key's fingerprint from the organization through another
channel. It is the SHA-256 of the key in DER form; `auditor audit public-key` prints the key.

Run these commands from inside the folder `{name}`, after `unzip {name}.zip`. Each one prints
nothing, or `OK` lines, when all is well, and stops with an error otherwise.

```sh
set -euo pipefail
# 1. every payload file and every tag file has the SHA-256 its manifest lists
sha256sum --check --quiet manifest-sha256.txt
sha256sum --check --quiet tagmanifest-sha256.txt
# 2. nothing was added: the files present are exactly the files listed
diff <(find data -type f | LC_ALL=C sort) <(cut -c67- manifest-sha256.txt | LC_ALL=C sort)
diff <(find . -maxdepth 1 -type f ! -name 'tagmanifest-sha256.txt*' -printf '%P\\n' \\
  | LC_ALL=C sort) <(cut -c67- tagmanifest-sha256.txt | LC_ALL=C sort)
# 3. the tag manifest (and so every file) is signed by this key
openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin \\
  -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig
# 4. the key is the organization's: compare with the fingerprint you were given
openssl pkey -pubin -in signing-key.pub.pem -outform DER | sha256sum
# 5. the bag is valid BagIt (optional: needs the bagit package)
if command -v bagit.py >/dev/null; then bagit.py --validate --quiet .; fi
```

Step 3 prints `Signature Verified Successfully`. Step 4 prints the fingerprint to compare.

## What else you can check

- `data/index.json` lists each file with the query and parameters that produced it and its row
  count: this is the evidence that each list is complete.
- `data/audit/events.jsonl` is the slice of the audit log for the period. Each line is an event
  exactly as it was hashed: SHA-256 of the byte 0x00 followed by the line (without its newline)
  is the event's leaf in an RFC 6962 Merkle tree. `first.tlog-proof` and `last.tlog-proof` prove
  the first and last events are included in the signed checkpoint (C2SP tlog-proof). With the
  events between them they give that checkpoint's root again. The `consistency-*` files prove
  that each checkpoint extends the one before it (RFC 9162). `auditor evidence verify` makes all
  of these checks; the formats are open, so a program of your own can too.
- `data/dispositions/lines.jsonl` holds the disposition records as hashed. The SHA-256 of a
  batch's lines (each followed by a newline) is the `digest` in `batches.jsonl` and in the
  batch's `retention.dispose` event in the audit slice.
"""


def verify_md(name: str) -> bytes:
    """The VERIFY.md of the bundle ``name``."""
    return _TEXT.format(name=name).encode()
