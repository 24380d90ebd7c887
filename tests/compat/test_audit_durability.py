"""11. The audit trail under abuse: `sekisho audit verify` names every
changed, deleted, inserted, reordered or truncated log file, and a gateway
killed with SIGKILL under load, again and again, loses no record of a
request that got an answer, and its chain still verifies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError

import harness
from harness import ACCOUNT, ECHO


def small_config(workdir: Path, port: int) -> str:
    # Short periods so a few seconds make several log files and digests.
    return f"""\
data_dir = {harness.toml_str(str(workdir / "data"))}
account_id = "{ACCOUNT}"
regions = ["us-east-1"]

[[listener]]
bind = "127.0.0.1:{port}"

[audit]
flush_interval_ms = 50
rotate_every_secs = 1
digest_every_secs = 1
"""


def start(workdir: Path) -> harness.Gateway:
    port = harness.free_port()
    gw = harness.Gateway(workdir, [port], small_config(workdir, port))
    return gw.start()


def verify(audit_dir: Path) -> dict:
    out = subprocess.run(
        [str(harness.sekisho_binary()), "audit", "verify", "--dir", str(audit_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode in (0, 1), out.stderr
    report = json.loads(out.stdout)
    assert (out.returncode == 0) == report["valid"], (out.returncode, report)
    return report


def logs_of(audit_dir: Path) -> list[Path]:
    return sorted(p for p in (audit_dir / "logs").rglob("*.jsonl"))


def rel(audit_dir: Path, p: Path) -> str:
    return p.relative_to(audit_dir).as_posix()


def kinds(report: dict) -> set[tuple[str, str]]:
    return {(f["kind"], f["path"]) for f in report["findings"] if f["problem"]}


@pytest.fixture(scope="module")
def sealed_trail(tmp_path_factory):
    """A gateway that served calls over a few seconds, then stopped
    cleanly: several sealed log files, each covered by a signed digest."""
    workdir = tmp_path_factory.mktemp("tamper")
    gw = start(workdir)
    iam = gw.client("iam")
    sts = gw.client("sts")
    deadline = time.monotonic() + 4.5
    n = 0
    while time.monotonic() < deadline:
        sts.get_caller_identity()
        if n % 5 == 0:
            iam.list_users()
        n += 1
        time.sleep(0.02)
    gw.stop()
    audit = gw.data_dir / "audit"
    files = logs_of(audit)
    assert len(files) >= 4, f"expected several log files, got {files}"
    return audit


def tampered_copy(audit: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "audit"
    shutil.copytree(audit, copy)
    return copy


def test_untouched_logs_are_valid(sealed_trail):
    report = verify(sealed_trail)
    assert report["valid"], report
    assert report["digests_checked"] >= 2 and report["files_checked"] >= 4
    assert not kinds(report)


def test_a_flipped_byte_is_named(sealed_trail, tmp_path):
    audit = tampered_copy(sealed_trail, tmp_path)
    target = logs_of(audit)[1]
    data = bytearray(target.read_bytes())
    i = data.index(b'"eventName"') + 14
    data[i] ^= 0x20
    target.write_bytes(bytes(data))
    report = verify(audit)
    assert not report["valid"]
    assert ("MODIFIED", rel(audit, target)) in kinds(report), report


def test_a_deleted_file_is_named(sealed_trail, tmp_path):
    audit = tampered_copy(sealed_trail, tmp_path)
    target = logs_of(audit)[2]
    target.unlink()
    report = verify(audit)
    assert not report["valid"]
    assert ("DELETED", rel(audit, target)) in kinds(report), report


def test_an_inserted_forgery_is_named(sealed_trail, tmp_path):
    audit = tampered_copy(sealed_trail, tmp_path)
    files = logs_of(audit)
    # A forged file named between two real ones, holding a plausible record.
    first = files[1].name
    prefix, stamp, seq = first.rsplit("_", 2)
    forged = files[1].with_name(f"{prefix}_{stamp}_{int(seq.split('.')[0]) + 500:06}.jsonl")
    forged.write_text(files[1].read_text().splitlines()[0] + "\n")
    report = verify(audit)
    assert not report["valid"]
    assert ("INSERTED", rel(audit, forged)) in kinds(report), report


def test_reordered_files_are_named(sealed_trail, tmp_path):
    audit = tampered_copy(sealed_trail, tmp_path)
    a, b = logs_of(audit)[1], logs_of(audit)[2]
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    report = verify(audit)
    assert not report["valid"]
    found = kinds(report)
    assert ("REORDERED", rel(audit, a)) in found and ("REORDERED", rel(audit, b)) in found, report


def test_a_truncated_newest_file_is_named(sealed_trail, tmp_path):
    audit = tampered_copy(sealed_trail, tmp_path)
    newest = logs_of(audit)[-1]
    data = newest.read_bytes()
    lines = data.splitlines(keepends=True)
    newest.write_bytes(b"".join(lines[: max(1, len(lines) // 2)]) if len(lines) > 1 else data[: len(data) // 2])
    report = verify(audit)
    assert not report["valid"]
    assert ("TRUNCATED", rel(audit, newest)) in kinds(report), report


def test_a_deleted_digest_breaks_the_chain(sealed_trail, tmp_path):
    audit = tampered_copy(sealed_trail, tmp_path)
    digests = sorted((audit / "digests").rglob("*.json"))
    assert len(digests) >= 3
    victim = digests[1]
    victim.unlink()
    report = verify(audit)
    assert not report["valid"]
    assert any(k in ("DIGEST DELETED", "CHAIN BROKEN", "GAP") for k, _ in kinds(report)), report


def answered_ids(audit: Path) -> set[str]:
    ids = set()
    for p in (audit / "logs").rglob("*"):
        if p.suffix in (".jsonl", ".partial") or p.name.endswith(".jsonl.partial"):
            for line in p.read_bytes().splitlines():
                try:
                    ids.add(json.loads(line)["requestID"])
                except (ValueError, KeyError):
                    pass
    return ids


def test_sigkill_under_load_loses_no_answered_record(tmp_path):
    workdir = tmp_path / "kill"
    workdir.mkdir()
    gw = start(workdir)
    audit = gw.data_dir / "audit"
    answered: set[str] = set()
    cycles = 8
    for cycle in range(cycles):
        if cycle:
            gw = harness.Gateway(workdir, gw.ports, small_config(workdir, gw.ports[0]))
            gw.start()
        stop = threading.Event()
        lock = threading.Lock()

        def load():
            sts = gw.client("sts", connect_timeout=2, read_timeout=5)
            while not stop.is_set():
                try:
                    r = sts.get_caller_identity()
                except (ClientError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, OSError):
                    return
                except Exception:  # noqa: BLE001 - any failure after the kill ends this worker
                    return
                with lock:
                    answered.add(r["ResponseMetadata"]["RequestId"])

        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(0.6 + 0.1 * cycle)
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait(timeout=10)
        stop.set()
        for w in workers:
            w.join(timeout=15)
        gw.stop()
        missing = answered - answered_ids(audit)
        assert not missing, f"cycle {cycle}: {len(missing)} answered request(s) have no record, e.g. {sorted(missing)[:3]}"
    assert len(answered) > 100, f"too little load to prove anything ({len(answered)} answers)"
    # A last clean start recovers the killed file and resumes the chain.
    gw = harness.Gateway(workdir, gw.ports, small_config(workdir, gw.ports[0]))
    gw.start()
    gw.client("sts").get_caller_identity()
    gw.stop()
    report = verify(audit)
    assert report["valid"], report
    assert not answered - answered_ids(audit)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["NO_COLOR"] = "1"
    full_env.update(env or {})
    return subprocess.run(
        [str(harness.sekisho_binary()), *args], capture_output=True, text=True, timeout=60, env=full_env
    )


def test_audit_query_answers_who_and_what(sealed_trail):
    data_dir = sealed_trail.parent
    out = run_cli("audit", "query", "--data-dir", str(data_dir), "--who", "admin", "--what", "ListUsers", "--json")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert records and all(r["eventName"] == "ListUsers" for r in records)
    assert all(r["userIdentity"]["userName"] == "admin" for r in records)
    times = [r["eventTime"] for r in records]
    assert times == sorted(times, reverse=True), "newest first"
    table = run_cli("audit", "query", "--data-dir", str(data_dir), "--what", "sts", "--limit", "3", "--since", "1d")
    assert table.returncode == 0, table.stderr
    assert "sts:GetCallerIdentity" in table.stdout and "3 record(s)" in table.stdout
    nobody = run_cli("audit", "query", "--data-dir", str(data_dir), "--who", "nobody-at-all", "--json")
    assert nobody.returncode == 0 and nobody.stdout == ""
    bad = run_cli("audit", "query", "--data-dir", str(data_dir), "--since", "yesterday-ish")
    assert bad.returncode != 0 and "not a time" in bad.stderr
    tail = run_cli("audit", "tail", "--data-dir", str(data_dir), "-n", "2", "--json")
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 2


def test_keys_cli_on_a_stopped_gateway(sealed_trail):
    workdir = sealed_trail.parent.parent
    config = str(workdir / "sekisho.toml")
    created = run_cli("keys", "create", "--config", config, "--description", "cli key", "--alias", "alias/cli", "--json")
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["KeyId"]
    rotated = run_cli("keys", "rotate", "--config", config, "alias/cli", "--json")
    assert rotated.returncode == 0, rotated.stderr
    listed = run_cli("keys", "list", "--config", config, "--json")
    keys = {k["KeyId"]: k for k in json.loads(listed.stdout)}
    assert keys[key_id]["Aliases"] == ["alias/cli"] and keys[key_id]["MaterialVersions"] == 2
    table = run_cli("keys", "list", "--config", config)
    assert key_id in table.stdout and "alias/cli" in table.stdout
    # Both changes are in the audit trail, and the trail still verifies.
    out = run_cli("audit", "query", "--dir", str(sealed_trail), "--what", "kms", "--json")
    names = [json.loads(line)["eventName"] for line in out.stdout.splitlines()]
    assert names[:2] == ["RotateKeyOnDemand", "CreateKey"], names
    assert verify(sealed_trail)["valid"]
    # With the gateway running, the CLI refuses and says why.
    gw = harness.Gateway(workdir, [harness.free_port()], small_config(workdir, harness.free_port()))
    gw.config_path.write_text(small_config(workdir, gw.ports[0]))
    gw.start()
    try:
        busy = run_cli("keys", "create", "--config", config)
        assert busy.returncode != 0 and "running" in busy.stderr, busy.stderr
        # The key made offline works over the API.
        kms = gw.client("kms")
        blob = kms.encrypt(KeyId="alias/cli", Plaintext=b"offline key")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"offline key"
    finally:
        gw.stop()


def test_master_key_warning_and_a_wrong_master_key_is_refused(tmp_path):
    workdir = tmp_path / "mk"
    workdir.mkdir()
    gw = start(workdir)
    gw.stop()
    err = gw.stderr_path.read_text()
    assert "master.key" in err and "SEKISHO_MASTER_KEY" in err, err[-2000:]
    # The generated key file is private.
    assert (gw.data_dir / "master.key").stat().st_mode & 0o077 == 0
    # Another master key cannot open this data directory: refused, nothing
    # overwritten.
    before = (gw.data_dir / "token.key").read_bytes()
    port = harness.free_port()
    (workdir / "sekisho.toml").write_text(small_config(workdir, port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["SEKISHO_MASTER_KEY"] = os.urandom(32).hex()
    out = subprocess.run(
        [str(harness.sekisho_binary()), "serve", "--config", str(workdir / "sekisho.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 2, out
    assert "another" in out.stderr and "master key" in out.stderr, out.stderr
    assert (gw.data_dir / "token.key").read_bytes() == before
