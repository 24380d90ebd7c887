#!/usr/bin/env python3
"""Scan throughput of sekisho-guard against Presidio's analyzer on the same text.

    python3 scripts/bench-presidio.py [--size BYTES] [--block-size BYTES]
                                      [--iterations N] [--seed N] [--entity-rate R]
                                      [--corpus PATH] [--per-recognizer]
                                      [--json | --json-out PATH]

A benchmark run by hand, not a test. It:

1. creates .venv-presidio (python3 -m venv) and installs the pinned
   presidio-analyzer of scripts/presidio-requirements.txt (with hashes) when
   the venv is missing or the file changed, then re-runs itself in the venv;
2. writes a deterministic English corpus (~1 MB of prose with emails, phone
   numbers, Luhn-valid card numbers, US SSNs, IBANs with valid check digits,
   IPv4 and MAC addresses, URLs, UK NHS numbers, dates and names) to a temp
   file (or --corpus);
3. times Presidio's AnalyzerEngine with its pattern recognizers only: the
   predefined English recognizers of the pinned version, loaded with
   NoOpNlpEngine, so no spaCy model is loaded or downloaded (tldextract's
   public-suffix download is turned off too; it falls back to its snapshot);
4. builds and runs `cargo run --release -p sekisho-guard --example scan-file`
   on the same file with the same block size (every PII type, 100 custom
   words, the profanity list, 10 regexes);
5. prints MB/s (10^6 bytes per second) of both, the ratio, and entity counts
   by type next to what the generator planted.

Both engines see the same blocks: the text is cut into blocks of at most
--block-size bytes after the last newline that fits (scan-file does the
same and the script checks that the block counts agree), each block one
call (`AnalyzerEngine.analyze` / `CompiledGuardrail::apply_detailed`). A
second mode scans the whole text as one block. Each mode runs once to warm
up and count entities, then --iterations times (scan-file: and for at least
2 s); the figure is the median pass, by wall clock and by the thread's CPU
time, the CPU time being the single-core speed on a busy machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-presidio"
REQUIREMENTS = ROOT / "scripts" / "presidio-requirements.txt"
STAMP = VENV / ".requirements.sha256"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv_and_reexec() -> None:
    """Install the pinned analyzer when needed and re-run in the venv."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not venv_python().exists():
        print(f"creating {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    have = STAMP.read_text().strip() if STAMP.exists() else ""
    if have != want:
        print(f"installing {REQUIREMENTS.name} into {VENV}", file=sys.stderr)
        subprocess.check_call(
            [str(venv_python()), "-m", "pip", "install", "--quiet",
             "--require-hashes", "--no-deps", "-r", str(REQUIREMENTS)]
        )
        STAMP.write_text(want + "\n")
    env = dict(os.environ)
    # tldextract (used by Presidio's email validation) would fetch the public
    # suffix list on first use; an empty list makes it use its snapshot.
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    py = str(venv_python())
    os.execve(py, [py, str(Path(__file__).resolve()), *sys.argv[1:]], env)


# ---------------------------------------------------------------- corpus

FILLER = [
    "The quarterly report shows steady growth across all regions.",
    "The team expects the new release to ship next month.",
    "Please review the attached design document before the meeting.",
    "Send your comments by Friday so that we can finalise the plan.",
    "We moved the weekly sync to Tuesday afternoon.",
    "The migration finished without errors and the old cluster was retired.",
    "Customer satisfaction improved after the support rotation changed.",
    "Finance asked for a breakdown of the cloud costs by project.",
    "The vendor confirmed that the shipment left the warehouse this morning.",
    "Legal reviewed the draft and suggested two small changes to the wording.",
    "Our onboarding guide now covers the new approval workflow.",
    "The outage lasted eleven minutes and affected only the reporting service.",
    "Marketing wants to launch the campaign before the holiday season.",
    "The board will discuss the hiring plan at the next session.",
    "Training materials for the new model are in the shared drive.",
    "The prototype handles twice the traffic of the previous version.",
    "Several customers asked whether the export feature supports CSV.",
    "The security review found no critical issues in the latest build.",
    "We should summarise the findings in a short memo for the leadership team.",
    "The summer interns presented their projects to the whole department.",
    "Latency at the ninety-ninth percentile dropped after the cache change.",
    "Procurement approved the purchase of four additional licences.",
    "The documentation still describes the old configuration format.",
    "Everyone agreed to revisit the roadmap at the end of the quarter.",
]

FIRST = ["Alice", "Robert", "Maria", "James", "Linda", "David", "Susan", "Michael",
         "Karen", "Thomas", "Emily", "Daniel", "Sarah", "Kevin", "Laura", "Brian"]
LAST = ["Johnson", "Smith", "Garcia", "Miller", "Davis", "Wilson", "Anderson",
        "Taylor", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris"]
TITLES = ["Mr.", "Ms.", "Mrs.", "Dr."]
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example.co.uk"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these sit left of the check digit
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def iban(rng: random.Random) -> str:
    country, bban = rng.choice([
        ("GB", lambda: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
         + "".join(rng.choice("0123456789") for _ in range(14))),
        ("DE", lambda: "".join(rng.choice("0123456789") for _ in range(18))),
        ("FR", lambda: "".join(rng.choice("0123456789") for _ in range(23))),
    ])
    b = bban()
    digits = "".join(str(int(c, 36)) for c in b + country + "00")
    check = 98 - int(digits) % 97
    s = f"{country}{check:02d}{b}"
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4)) if rng.random() < 0.5 else s


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def nhs(rng: random.Random) -> str:
    while True:
        d = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
        if check == 11:
            check = 0
        if check != 10:
            s = "".join(map(str, d)) + str(check)
            return f"{s[:3]} {s[3:6]} {s[6:]}"


def phone(rng: random.Random) -> str:
    area, exch, sub = rng.randint(201, 989), rng.randint(200, 989), rng.randint(0, 9999)
    return rng.choice([
        f"({area}) {exch}-{sub:04d}",
        f"{area}-{exch}-{sub:04d}",
        f"+1 {area} {exch} {sub:04d}",
        f"+44 20 7946 {sub:04d}",
    ])


def card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15)])
    n = luhn_complete(prefix, length, rng)
    sep = rng.choice([" ", "-", ""])
    if length == 15:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i:i + 4] for i in range(0, 16, 4))


def email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}@{rng.choice(DOMAINS)}"


def ip(rng: random.Random) -> str:
    return rng.choice([
        f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"203.0.113.{rng.randint(1, 254)}",
        f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    ])


def mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))


def url(rng: random.Random) -> str:
    path = rng.choice(["reports/q3", "wiki/Onboarding", "tickets/4821", "docs/api/v2"])
    return f"https://{rng.choice(['docs', 'intranet', 'www'])}.{rng.choice(DOMAINS)}/{path}"


def date(rng: random.Random) -> str:
    y, m, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
    return f"{MONTHS[m - 1]} {d}, {y}" if rng.random() < 0.5 else f"{y}-{m:02d}-{d:02d}"


def name(rng: random.Random) -> str:
    return f"{rng.choice(TITLES)} {rng.choice(FIRST)} {rng.choice(LAST)}"


# (kind, generator, sentence templates)
ENTITIES = [
    ("email", email, ["Please send the signed copy to {} before the end of the week.",
                      "Questions about the invoice can go to {}."]),
    ("phone", phone, ["You can reach the on-call engineer at {}.",
                      "Call me back on {} when you have a minute."]),
    ("credit card", card, ["The customer paid with card {} and asked for a refund.",
                           "Charge the deposit to {} as agreed."]),
    ("US SSN", ssn, ["Her social security number is {}, as shown on the form.",
                     "The applicant wrote SSN {} on page two."]),
    ("IBAN", iban, ["Wire the payment to IBAN {} by Monday.",
                    "The supplier changed its bank account to {}."]),
    ("IP address", ip, ["The failed logins came from {} last night.",
                        "Allow traffic from {} on the staging firewall."]),
    ("URL", url, ["The full report is at {} for anyone interested.",
                  "See {} for the details."]),
    ("MAC address", mac, ["The device with MAC address {} was quarantined."]),
    ("UK NHS number", nhs, ["The patient's NHS number is {} according to the referral."]),
    ("date", date, ["The contract was signed on {} in the main office."]),
    ("name", name, ["{} will join the call to answer questions.",
                    "The proposal was written by {} and the platform team."]),
]


def make_corpus(size: int, seed: int, rate: float = 0.25) -> tuple[str, Counter]:
    """Paragraphs of 4-8 sentences, `rate` of them carrying one entity."""
    rng = random.Random(seed)
    planted: Counter = Counter()
    paragraphs, total = [], 0
    while total < size:
        sentences = []
        for _ in range(rng.randint(4, 8)):
            if rng.random() < rate:
                kind, gen, templates = rng.choice(ENTITIES)
                sentences.append(rng.choice(templates).format(gen(rng)))
                planted[kind] += 1
            else:
                filler = rng.choice(FILLER)
                while sentences and filler == sentences[-1]:
                    filler = rng.choice(FILLER)
                sentences.append(filler)
        p = " ".join(sentences) + "\n"
        paragraphs.append(p)
        total += len(p)
    return "".join(paragraphs), planted


def blocks(text: str, max_bytes: int) -> list[str]:
    """Cut as scan-file does: at most max_bytes of UTF-8, after the last
    newline that fits, else at the last character boundary."""
    data, out, i = text.encode(), [], 0
    while i < len(data):
        if len(data) - i <= max_bytes:
            cut = len(data)
        else:
            end = i + max_bytes
            while end > i and data[end] & 0xC0 == 0x80:
                end -= 1
            if end == i:
                end = i + 1
                while end < len(data) and data[end] & 0xC0 == 0x80:
                    end += 1
            nl = data.rfind(b"\n", i, end)
            cut = nl + 1 if nl >= 0 else end
        out.append(data[i:cut].decode())
        i = cut
    return out


# ---------------------------------------------------------------- presidio

def presidio_engine():
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(nlp_engine=nlp, languages=["en"])
    # Pattern recognizers only (the registry adds no NER one without a
    # model, but be sure).
    registry.recognizers = [
        r for r in registry.recognizers
        if type(r).__name__ not in ("SpacyRecognizer", "StanzaRecognizer",
                                    "TransformersRecognizer")
    ]
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    names = sorted(f"{type(r).__name__} ({', '.join(r.supported_entities)})"
                   for r in registry.recognizers)
    return engine, names


def time_presidio(engine, requests: list[str], iterations: int, mode: str) -> dict:
    def one_pass() -> tuple[Counter, Counter]:
        found: Counter = Counter()
        confident: Counter = Counter()
        for text in requests:
            for r in engine.analyze(text=text, language="en"):
                found[r.entity_type] += 1
                if r.score >= 0.5:
                    confident[r.entity_type] += 1
        return found, confident

    found, confident = one_pass()
    wall, cpu = [], []
    for _ in range(iterations):
        t, c = time.perf_counter(), time.thread_time()
        one_pass()
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    n = sum(len(t.encode()) for t in requests)
    w, c = statistics.median(wall), statistics.median(cpu)
    return {
        "mode": mode, "requests": len(requests), "bytes": n,
        "seconds": w, "mb_per_s": n / w / 1e6, "mib_per_s": n / w / 1048576,
        "cpu_seconds": c, "cpu_mb_per_s": n / c / 1e6, "cpu_mib_per_s": n / c / 1048576,
        "entities": sum(found.values()), "by_type": dict(sorted(found.items())),
        # Every result is counted above (the analyzer's default threshold is
        # 0); these are the ones scored 0.5 or more.
        "entities_score_ge_0_5": sum(confident.values()),
        "by_type_score_ge_0_5": dict(sorted(confident.items())),
    }


def per_recognizer(engine, requests: list[str]) -> list[dict]:
    """One pass of each recognizer alone over the blocks (thread CPU time),
    outside the analyzer: where Presidio's time goes."""
    artifacts = engine.nlp_engine.process_text("", "en")
    out = []
    for r in engine.registry.recognizers:
        c = time.thread_time()
        n = 0
        for text in requests:
            n += len(r.analyze(text, r.supported_entities, artifacts) or [])
        out.append({"recognizer": type(r).__name__, "cpu_seconds": time.thread_time() - c,
                    "results": n})
    return sorted(out, key=lambda x: -x["cpu_seconds"])


# ---------------------------------------------------------------- sekisho

def run_sekisho(corpus: Path, block_size: int, iterations: int) -> dict:
    common = ["--release", "-p", "sekisho-guard", "--example", "scan-file"]
    subprocess.check_call(["cargo", "build", "--quiet", *common], cwd=ROOT)
    out = subprocess.run(
        ["cargo", "run", "--quiet", *common, "--", str(corpus),
         "--block-size", str(block_size), "--iterations", str(iterations)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


# ---------------------------------------------------------------- report

# planted kind -> (sekisho type, presidio type)
COMPARABLE = [
    ("email", "EMAIL", "EMAIL_ADDRESS"),
    ("phone", "PHONE", "PHONE_NUMBER"),
    ("credit card", "CREDIT_DEBIT_CARD_NUMBER", "CREDIT_CARD"),
    ("US SSN", "US_SOCIAL_SECURITY_NUMBER", "US_SSN"),
    ("IBAN", "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IBAN_CODE"),
    ("IP address", "IP_ADDRESS", "IP_ADDRESS"),
    ("URL", "URL", "URL"),
    ("MAC address", "MAC_ADDRESS", "MAC_ADDRESS"),
    ("UK NHS number", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NHS"),
    ("date", None, "DATE_TIME"),
    ("name", "NAME", None),
]


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version
    return {
        "cpu": model, "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "presidio_analyzer": version("presidio-analyzer"),
        "regex": version("regex"), "phonenumbers": version("phonenumbers"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="corpus bytes (default 1,000,000)")
    ap.add_argument("--block-size", type=int, default=4096, help="bytes per request (default 4096)")
    ap.add_argument("--iterations", type=int, default=3, help="timed passes per mode (default 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--entity-rate", type=float, default=0.25,
                    help="share of sentences that carry an entity (default 0.25)")
    ap.add_argument("--corpus", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--json", action="store_true", help="print the full results as JSON")
    ap.add_argument("--json-out", type=Path, help="also write the full results as JSON here")
    ap.add_argument("--per-recognizer", action="store_true",
                    help="also time each Presidio recognizer alone (blocks, one pass)")
    args = ap.parse_args()
    if args.iterations < 1 or args.block_size < 1 or args.size < 1:
        ap.error("--iterations, --block-size and --size must be positive")

    text, planted = make_corpus(args.size, args.seed, args.entity_rate)
    if args.corpus:
        corpus = args.corpus
    else:
        fd, name_ = tempfile.mkstemp(prefix="sekisho-presidio-", suffix=".txt")
        os.close(fd)
        corpus = Path(name_)
    corpus.write_text(text, encoding="utf-8")
    cut = blocks(text, args.block_size)
    load_before = os.getloadavg()

    engine, recognizers = presidio_engine()
    presidio = [
        time_presidio(engine, cut, args.iterations, "blocks"),
        time_presidio(engine, [text], args.iterations, "one-block"),
    ]
    recognizer_times = per_recognizer(engine, cut) if args.per_recognizer else None
    sekisho = run_sekisho(corpus, args.block_size, args.iterations)
    load_after = os.getloadavg()
    if not args.corpus:
        corpus.unlink()

    s_runs = {r["mode"]: r for r in sekisho["runs"]}
    if s_runs["blocks"]["requests"] != len(cut):
        sys.exit(f"block counts differ: scan-file {s_runs['blocks']['requests']}, here {len(cut)}")

    result = {
        "corpus": {"bytes": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest(),
                   "seed": args.seed, "entity_rate": args.entity_rate,
                   "block_size": args.block_size, "blocks": len(cut),
                   "planted": dict(sorted(planted.items()))},
        "iterations": args.iterations,
        "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": load_after},
        "presidio": {"recognizers": recognizers, "runs": presidio,
                     "per_recognizer": recognizer_times},
        "sekisho": sekisho,
        "ratio": {p["mode"]: {"wall": s_runs[p["mode"]]["mb_per_s"] / p["mb_per_s"],
                              "cpu": (s_runs[p["mode"]]["cpu_mb_per_s"] or 0) / p["cpu_mb_per_s"]}
                  for p in presidio},
    }
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
        return

    m = result["machine"]
    c = result["corpus"]
    print(f"corpus: {c['bytes']:,} bytes of English (seed {c['seed']}, sha256 {c['sha256'][:12]}), "
          f"{c['blocks']} blocks of <= {c['block_size']} bytes; {args.iterations} timed passes, median")
    print(f"machine: {m['cpu']}, nproc {m['nproc']}, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after; Python {m['python']}, presidio-analyzer {m['presidio_analyzer']}")
    print(f"presidio: {len(recognizers)} pattern recognizers, NoOpNlpEngine (no NER)")
    print()
    print(f"{'engine':<16}{'mode':<11}{'MB/s wall':>11}{'MB/s cpu':>10}{'entities':>10}{'ratio wall':>12}{'ratio cpu':>11}")
    for mode in ("blocks", "one-block"):
        p = next(r for r in presidio if r["mode"] == mode)
        s = s_runs[mode]
        print(f"{'presidio':<16}{mode:<11}{p['mb_per_s']:>11.2f}{p['cpu_mb_per_s']:>10.2f}{p['entities']:>10}{'1x':>12}{'1x':>11}")
        r = result["ratio"][mode]
        cpu = s["cpu_mb_per_s"]
        print(f"{'sekisho-guard':<16}{mode:<11}{s['mb_per_s']:>11.1f}{(cpu or float('nan')):>10.1f}"
              f"{s['entities']:>10}{r['wall']:>11.0f}x{r['cpu']:>10.0f}x")
    print()
    sp, pp = s_runs["blocks"]["by_type"], presidio[0]["by_type"]
    pc = presidio[0]["by_type_score_ge_0_5"]
    print("entities by type, blocks mode (planted = what the generator put in;"
          " presidio: all results / score >= 0.5)")
    print(f"{'kind':<15}{'planted':>8}  {'sekisho-guard':<42}{'presidio':<24}")
    used_s, used_p = set(), set()
    for kind, st, pt in COMPARABLE:
        sv = f"{st} {sp.get(st, 0)}" if st else "(no such type)"
        pv = f"{pt} {pp.get(pt, 0)} / {pc.get(pt, 0)}" if pt else "(needs NER)"
        used_s.add(st)
        used_p.add(pt)
        print(f"{kind:<15}{planted.get(kind, 0):>8}  {sv:<42}{pv:<24}")
    rest_s = {k: v for k, v in sp.items() if k not in used_s}
    rest_p = {k: f"{v} / {pc.get(k, 0)}" for k, v in pp.items() if k not in used_p}
    print(f"{'other':<15}{'':>8}  {json.dumps(rest_s)}  {json.dumps(rest_p)}")
    if recognizer_times:
        total = sum(r["cpu_seconds"] for r in recognizer_times)
        print()
        print("presidio recognizers alone, blocks mode, one pass (CPU seconds)")
        for r in recognizer_times:
            print(f"  {r['recognizer']:<26}{r['cpu_seconds']:>8.2f} s {100 * r['cpu_seconds'] / total:>5.1f} %"
                  f"{r['results']:>7} results")
        print(f"  {'sum':<26}{total:>8.2f} s")


if __name__ == "__main__":
    ensure_venv_and_reexec()
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    main()
