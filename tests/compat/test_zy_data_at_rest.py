"""12. After the whole suite: no file in the data directory holds a secret
access key, a session token, a KMS plaintext or data key, or a prompt in
plaintext. (The one exception is by contract: `credentials` holds the
admin's key for the AWS CLI, mode 0600.)"""

from __future__ import annotations

import pytest

from harness import SECRETS


@pytest.mark.after_all
def test_nothing_secret_in_plaintext_in_the_data_directory(gateway):
    # Stop first: SQLite's WAL and the audit files are then complete.
    gateway.stop()
    kinds = set(SECRETS.items.values())
    for needed in ("prompt", "data key (base64)", "KMS plaintext (base64)"):
        assert needed in kinds, f"the suite handled no {needed}: nothing to look for"
    assert any("secret access key" in k and k != "admin secret access key" for k in kinds)
    files = [p for p in gateway.data_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"sekisho.db", "token.key", "secrets.key", "audit-signing.key"} <= names, names
    assert any(p.suffix == ".jsonl" for p in files), "no audit log file: the scan would prove little"
    leaks = []
    scanned = 0
    for path in files:
        data = path.read_bytes()
        scanned += len(data)
        for value, what in SECRETS.items.items():
            if path.name == "credentials" and what == "admin secret access key":
                continue
            needle = value.encode()
            if needle in data:
                leaks.append(f"{path.relative_to(gateway.data_dir)}: {what}")
    assert scanned > 10_000
    assert not leaks, "plaintext secrets in the data directory:\n" + "\n".join(sorted(set(leaks)))
    # The keys of the data directory are wrapped by the master key.
    for name in ("token.key", "secrets.key", "audit-signing.key"):
        text = (gateway.data_dir / name).read_text()
        assert text.startswith("sekisho-wrapped-v1:"), name
