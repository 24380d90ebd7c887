"""The compatibility suite's harness: runs `sekisho serve` on ephemeral
ports with a throw-away data directory, makes boto3 clients for it, sends
hand-crafted signed requests, computes TOTP codes, and remembers every
secret the suite handles so that the last test can look for them in the
server's logs.
"""

from __future__ import annotations

import atexit
import base64
import configparser
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
POLICIES = HERE / "policies"

# The seed documents name account 123456789012 in their policies; the
# gateway is configured with it so that those policies apply verbatim.
ACCOUNT = "123456789012"
# Three served regions: the region SCP allows the first two.
REGIONS = ["us-east-1", "us-west-2", "ap-northeast-1"]

ECHO = "sekisho.echo-v1"
# Served by the OpenAI-compatible backend pointed at the fake server.
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_UPSTREAM = "fake-haiku"
# Served by echo: allowed by AllowClaudeOnly.
SONNET = "anthropic.claude-3-sonnet-20240229-v1:0"
# Served by echo: not named by AllowClaudeOnly.
LLAMA = "meta.llama3-8b-instruct-v1:0"
# Served by echo in us-east-1 only (data residency).
TITAN_EAST_ONLY = "amazon.titan-text-express-v1"

VPCE_ID = "vpce-0a1b2c3d4e5f60718"
# The listener that is a VPC endpoint and the one nobody may reach.
MAIN, VPCE, CLOSED = 0, 1, 2
# A small body limit, so the oversized-body test sends little.
MAX_BODY_BYTES = 64 * 1024

STARTUP_TIMEOUT = 60.0


# ---------------------------------------------------------------------------
# Secrets the suite handles: the log test looks for every one of them.


@dataclass
class SecretRegistry:
    items: dict[str, str] = field(default_factory=dict)  # value -> what it is
    log_files: list[Path] = field(default_factory=list)

    def add(self, value, what: str) -> None:
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if value and len(value) >= 8:
            self.items.setdefault(value, what)


SECRETS = SecretRegistry()


def prompt(text: str) -> str:
    """A prompt the suite sends; remembered so the log test can check it
    never reaches a log line. The unique marker makes stray matches
    impossible."""
    marker = "cmpt" + hashlib.sha256(os.urandom(16)).hexdigest()[:12]
    full = f"{text} [{marker}]"
    SECRETS.add(full, "prompt")
    SECRETS.add(marker, "prompt marker")
    return full


# ---------------------------------------------------------------------------
# Credentials and clients.


@dataclass(frozen=True)
class Creds:
    access_key: str
    secret_key: str
    token: str | None = None

    def botocore(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key, self.token)


def creds_of(response_credentials: dict, what: str) -> Creds:
    """STS `Credentials` → Creds, remembering the secret parts."""
    c = response_credentials
    SECRETS.add(c["SecretAccessKey"], f"{what} secret access key")
    if c.get("SessionToken"):
        SECRETS.add(c["SessionToken"], f"{what} session token")
    return Creds(c["AccessKeyId"], c["SecretAccessKey"], c.get("SessionToken"))


def access_key_creds(response: dict, what: str) -> Creds:
    """IAM CreateAccessKey response → Creds."""
    k = response["AccessKey"]
    SECRETS.add(k["SecretAccessKey"], f"{what} secret access key")
    return Creds(k["AccessKeyId"], k["SecretAccessKey"])


_BOTO3: boto3.session.Session | None = None


def boto3_session() -> boto3.session.Session:
    """One boto3 session for the suite (its service models load once); it
    reads no profile, config or credentials file of this machine: every
    client gets its credentials explicitly."""
    global _BOTO3
    if _BOTO3 is None:
        core = botocore.session.Session()
        core.set_config_variable("config_file", os.devnull)
        core.set_config_variable("credentials_file", os.devnull)
        _BOTO3 = boto3.session.Session(botocore_session=core)
    return _BOTO3


def client_config(**overrides) -> Config:
    base = dict(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )
    base.update(overrides)
    return Config(**base)


# ---------------------------------------------------------------------------
# TOTP (RFC 6238) with the standard library, as an authenticator app does.


def totp(seed_base32: str, at: float) -> str:
    key = base64.b32decode(seed_base32 + "=" * (-len(seed_base32) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


def totp_now() -> float:
    """The current time, at least 2 s away from the next 30-second step,
    so that codes computed now are still in the same step when the
    gateway checks them."""
    now = time.time()
    if now % 30 > 28:
        time.sleep(30 - now % 30 + 0.1)
        now = time.time()
    return now


# ---------------------------------------------------------------------------
# The gateway process.


def stream_text(resp, traces: list | None = None) -> tuple[str, str]:
    """The text and stop reason of a ConverseStream response (and, with
    `traces`, the trace of each metadata event)."""
    text, stop = "", None
    for event in resp["stream"]:
        if "contentBlockDelta" in event:
            text += event["contentBlockDelta"]["delta"]["text"]
        if "messageStop" in event:
            stop = event["messageStop"]["stopReason"]
        if "metadata" in event and traces is not None:
            traces.append(event["metadata"].get("trace"))
    return text, stop


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sekisho_binary() -> Path:
    explicit = os.environ.get("SEKISHO_BIN")
    path = Path(explicit) if explicit else REPO / "target" / "debug" / "sekisho"
    if not path.is_file():
        raise RuntimeError(f"the sekisho binary is not at {path}: run scripts/compat (it builds it)")
    return path


def toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


class Gateway:
    """One `sekisho serve` process."""

    def __init__(self, workdir: Path, ports: list[int], config_text: str, env: dict | None = None):
        self.workdir = workdir
        self.ports = ports
        self.data_dir = workdir / "data"
        self.config_path = workdir / "sekisho.toml"
        self.stdout_path = workdir / "server.stdout.log"
        self.stderr_path = workdir / "server.stderr.log"
        self.config_path.write_text(config_text)
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.admin: Creds | None = None

    @property
    def ca(self) -> str:
        return str(self.data_dir / "ca.pem")

    def url(self, listener: int = MAIN) -> str:
        return f"https://127.0.0.1:{self.ports[listener]}"

    def start(self) -> "Gateway":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # Debug level: whatever the gateway says at any level must be free
        # of secrets.
        env["SEKISHO_LOG"] = "debug"
        env["NO_COLOR"] = "1"
        env.update(self.env)
        SECRETS.log_files += [self.stdout_path, self.stderr_path]
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        atexit.register(self.stop)
        self.proc = subprocess.Popen(
            [str(sekisho_binary()), "serve", "--config", str(self.config_path)],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=env,
        )
        self._wait_ready()
        creds = configparser.ConfigParser()
        creds.read(self.data_dir / "credentials")
        self.admin = Creds(creds["sekisho"]["aws_access_key_id"], creds["sekisho"]["aws_secret_access_key"])
        SECRETS.add(self.admin.secret_key, "admin secret access key")
        return self

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.stdout_path, self.stderr_path) if p.exists())

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sekisho serve exited with {self.proc.returncode}:\n{self.logs()[-4000:]}")
            if (self.data_dir / "ca.pem").exists() and (self.data_dir / "credentials").exists():
                try:
                    ctx = ssl.create_default_context(cafile=self.ca)
                    with socket.create_connection(("127.0.0.1", self.ports[MAIN]), timeout=2) as sock:
                        with ctx.wrap_socket(sock, server_hostname="127.0.0.1"):
                            return
                except (OSError, ssl.SSLError) as e:
                    last = e
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sekisho serve did not accept TLS within {STARTUP_TIMEOUT}s ({last}):\n{self.logs()[-4000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f:
                f.close()

    # -- clients -----------------------------------------------------------

    def client(self, service: str, creds: Creds | None = None, region: str = "us-east-1", listener: int = MAIN, **config):
        """A boto3 client for this gateway, with explicit credentials and
        `verify` set to the generated CA."""
        c = creds or self.admin
        return boto3_session().client(
            service,
            region_name=region,
            endpoint_url=self.url(listener),
            verify=self.ca,
            aws_access_key_id=c.access_key,
            aws_secret_access_key=c.secret_key,
            aws_session_token=c.token,
            config=client_config(**config),
        )

    def assume(self, role_arn: str, session_name: str, creds: Creds | None = None, **kwargs) -> Creds:
        resp = self.client("sts", creds).assume_role(RoleArn=role_arn, RoleSessionName=session_name, **kwargs)
        return creds_of(resp["Credentials"], f"session of {role_arn}")

    # -- raw requests --------------------------------------------------------

    def raw(
        self,
        method: str,
        path: str,
        *,
        service: str,
        protocol: str,
        region: str = "us-east-1",
        body: bytes = b"",
        headers: dict | None = None,
        creds: Creds | None = None,
        listener: int = MAIN,
        sign: bool = True,
        after_signing: dict | None = None,
        signed_at=None,
    ) -> "RawResponse":
        """Sends `method path` exactly as given (no normalization of the
        path on the way), signed with SigV4 by botocore unless `sign` is
        false; `after_signing` headers are added (or replace) after the
        signature was computed."""
        host = f"127.0.0.1:{self.ports[listener]}"
        hdrs = {"Host": host}
        if body:
            hdrs["Content-Length"] = str(len(body))
        hdrs.update(headers or {})
        request = AWSRequest(method=method, url=f"https://{host}{path}", data=body, headers=hdrs)
        if sign:
            c = creds or self.admin
            auth = SigV4Auth(c.botocore(), service, region)
            if signed_at is None:
                auth.add_auth(request)
            else:
                from unittest import mock

                with mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: signed_at):
                    auth.add_auth(request)
        final = dict(request.headers.items())
        for k, v in (after_signing or {}).items():
            for existing in [e for e in final if e.lower() == k.lower()]:
                del final[existing]
            if v is not None:
                final[k] = v
        return send_raw(host, self.ca, method, path, final, body, protocol)


@dataclass
class RawResponse:
    status: int
    headers: dict
    body: bytes
    protocol: str

    @property
    def error(self) -> dict:
        """The error as botocore parses it for this protocol: {'Code', 'Message'}."""
        parser = create_parser(self.protocol)
        parsed = parser.parse(
            {"status_code": self.status, "headers": self.headers, "body": self.body},
            None,
        )
        return parsed.get("Error", {})

    @property
    def code(self) -> str:
        return self.error.get("Code", "")

    def __repr__(self) -> str:
        return f"<{self.status} {self.headers.get('x-amzn-errortype', '')} {self.body[:300]!r}>"


def send_raw(host: str, ca: str, method: str, path: str, headers: dict, body: bytes, protocol: str) -> RawResponse:
    hostname, port = host.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(hostname, int(port), context=ctx, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            if isinstance(v, list):
                for item in v:
                    conn.putheader(k, item)
            else:
                conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        # Lower-case keys, as botocore's parsers get them.
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return RawResponse(resp.status, hdrs, data, protocol)
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# Configuration of the suite's main gateway.


def main_config(workdir: Path, ports: list[int], openai_base_url: str) -> str:
    p = lambda name: toml_str(str(POLICIES / name))  # noqa: E731
    return f"""\
# Generated by tests/compat/conftest.py.
data_dir = {toml_str(str(workdir / "data"))}
account_id = "{ACCOUNT}"
regions = {json.dumps(REGIONS)}

# The client's listener.
[[listener]]
bind = "127.0.0.1:{ports[MAIN]}"

# A VPC endpoint whose policy (the seed's) names one role.
[[listener]]
bind = "127.0.0.1:{ports[VPCE]}"
endpoint_id = "{VPCE_ID}"
endpoint_policy = {p("VpcEndpointPolicy.json")}

# A listener whose allow rules exclude every loopback client.
[[listener]]
bind = "127.0.0.1:{ports[CLOSED]}"
allow = ["192.0.2.0/24"]

[organization]
id = "o-compat00001"

[[organization.level]]
id = "r-cmp1"
scps = [{p("FullAWSAccess.json")}]

[[organization.level]]
id = "ou-cmp1-genai001"
scps = [{p("FullAWSAccess.json")}, {p("DenyBedrockOutsideAllowedRegions.json")}]

[[organization.level]]
id = "{ACCOUNT}"
scps = [{p("FullAWSAccess.json")}]

[[model]]
id = "{ECHO}"
backend = "echo"

[[model]]
id = "{HAIKU}"
backend = "localfake"
upstream_model = "{HAIKU_UPSTREAM}"

[[model]]
id = "{SONNET}"
backend = "echo"

[[model]]
id = "{LLAMA}"
backend = "echo"

[[model]]
id = "{TITAN_EAST_ONLY}"
backend = "echo"
regions = ["us-east-1"]

[backends.echo]
type = "echo"

[backends.localfake]
type = "openai"
base_url = {toml_str(openai_base_url)}
api_key_env = "SEKISHO_COMPAT_FAKE_KEY"
timeout_secs = 20
max_retries = 0

[limits]
max_body_bytes = {MAX_BODY_BYTES}
"""


def policy_text(name: str) -> str:
    return (POLICIES / name).read_text()


def policy_json(name: str) -> dict:
    return json.loads(policy_text(name))


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


@contextmanager
def raises_code(*codes: str, status: int | None = None):
    """Expects a botocore ClientError with one of `codes` (boto3 raises the
    exception class named after the code)."""
    with pytest.raises(ClientError) as info:
        yield info
    err = info.value.response["Error"]
    got_status = info.value.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    assert err.get("Code") in codes, f"expected {codes}, got {err} (HTTP {got_status})"
    if status is not None:
        assert got_status == status, info.value.response
