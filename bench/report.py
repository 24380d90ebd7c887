#!/usr/bin/env python3
"""Reads the oha JSON results of run.sh and prints the benchmark table
(Markdown) with the targets of issue 4."""

import argparse
import json
import os
import statistics


def load(d, name):
    with open(os.path.join(d, name + ".json")) as f:
        return json.load(f)


def ms(seconds):
    return seconds * 1000.0


def ok_count(r):
    return r.get("statusCodeDistribution", {}).get("200", 0)


# oha ends a timed run (-z) by cutting the requests then in flight: one per
# connection at most. Those are not failures of the server.
DEADLINE = "aborted due to deadline"


def bad(r):
    codes = {k: v for k, v in r.get("statusCodeDistribution", {}).items() if k != "200"}
    errors = {k: v for k, v in r.get("errorDistribution", {}).items() if k != DEADLINE}
    return codes, errors


def ok_rps(r):
    """Requests answered 200 per second of the run."""
    return ok_count(r) / r["summary"]["total"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--rss-rest", type=int, required=True, help="kB")
    ap.add_argument("--rss-after", type=int, required=True, help="kB")
    ap.add_argument("--rss-peak", type=int, required=True, help="kB")
    ap.add_argument("--identity-policies", type=int, required=True)
    ap.add_argument("--cpu-direct", type=int, required=True, help="clock ticks")
    ap.add_argument("--cpu-gw", type=int, required=True, help="clock ticks")
    ap.add_argument("--clk-tck", type=int, required=True)
    ap.add_argument("--nice", default="0")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--load-before", required=True)
    ap.add_argument("--load-after", required=True)
    a = ap.parse_args()

    rows = []
    problems = []
    p50_added, p99_added = [], []
    for r in range(1, a.rounds + 1):
        d = load(a.dir, f"lat-direct-{r}")
        g = load(a.dir, f"lat-gw-{r}")
        for name, res in ((f"direct, round {r}", d), (f"sekisho, round {r}", g)):
            codes, errors = bad(res)
            if codes or errors:
                problems.append(f"{name}: non-200 {codes} errors {errors}")
        dp, gp = d["latencyPercentiles"], g["latencyPercentiles"]
        rows.append((r, d, g))
        p50_added.append(ms(gp["p50"] - dp["p50"]))
        p99_added.append(ms(gp["p99"] - dp["p99"]))

    print("### Latency at concurrency 1 (ms)\n")
    print("| round | target | requests | req/s | p50 | p90 | p99 | p99.9 | max |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r, d, g in rows:
        for name, res in (("direct backend", d), ("Sekisho", g)):
            p = res["latencyPercentiles"]
            print(f"| {r} | {name} | {ok_count(res)} | {ok_rps(res):.0f} | "
                  f"{ms(p['p50']):.3f} | {ms(p['p90']):.3f} | {ms(p['p99']):.3f} | "
                  f"{ms(p['p99.9']):.3f} | {ms(res['summary']['slowest']):.3f} |")
    for r, d, g in rows:
        dp, gp = d["latencyPercentiles"], g["latencyPercentiles"]
        print(f"| {r} | **added by Sekisho** | | | **{ms(gp['p50'] - dp['p50']):.3f}** | "
              f"{ms(gp['p90'] - dp['p90']):.3f} | **{ms(gp['p99'] - dp['p99']):.3f}** | "
              f"{ms(gp['p99.9'] - dp['p99.9']):.3f} | |")

    print(f"\n### Throughput at concurrency {a.concurrency} (oha on the same 2 cores)\n")
    print("| target | requests (200) | errors | req/s | p50 ms | p99 ms | server CPU | server CPU per request |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    tput = {}
    for name, key, ticks in (("direct backend", "tput-direct", a.cpu_direct), ("Sekisho", "tput-gw", a.cpu_gw)):
        res = load(a.dir, key)
        codes, errors = bad(res)
        if codes or errors:
            problems.append(f"{name} throughput: non-200 {codes} errors {errors}")
        p = res["latencyPercentiles"]
        tput[key] = ok_rps(res)
        cpu_s = ticks / a.clk_tck
        wall = res["summary"]["total"]
        per_req_us = cpu_s / max(ok_count(res), 1) * 1e6
        other = ", ".join(f"{k}: {v}" for k, v in {**codes, **errors}.items()) or "none"
        print(f"| {name} | {ok_count(res)} | {other} | {tput[key]:.0f} | "
              f"{ms(p['p50']):.3f} | {ms(p['p99']):.3f} | {cpu_s / wall:.2f} cores | {per_req_us:.0f} µs |")

    print("\n### Memory of the Sekisho process\n")
    print("| when | VmRSS |")
    print("|---|---:|")
    mem = lambda kb: f"{kb / 1024:.1f} MiB ({kb * 1024 / 1e6:.1f} MB)"
    print(f"| at rest, 2 s after start | {mem(a.rss_rest)} |")
    print(f"| after the load, 2 s later | {mem(a.rss_after)} |")
    print(f"| peak (VmHWM) | {mem(a.rss_peak)} |")

    p50 = statistics.median(p50_added)
    p99 = statistics.median(p99_added)
    rps = tput["tput-gw"]
    print("\n### Against the targets of issue 4\n")
    print("| target | measured | met |")
    print("|---|---|---|")
    yes = lambda b: "yes" if b else "**no**"
    print(f"| added p50 at concurrency 1 ≤ 0.3 ms | {p50:.3f} ms (median of {a.rounds} rounds) | {yes(p50 <= 0.3)} |")
    print(f"| added p99 at concurrency 1 ≤ 1 ms | {p99:.3f} ms (median of {a.rounds} rounds) | {yes(p99 <= 1.0)} |")
    print(f"| ≥ 5,000 signed requests/s | {rps:.0f} /s | {yes(rps >= 5000)} |")
    print(f"| RSS at rest ≤ 50 MB | {mem(a.rss_rest)} | {yes(a.rss_rest * 1024 <= 50e6)} |")
    print(f"\nIdentity policies of the signing user: {a.identity_policies} (+ a permissions boundary); "
          "SCP levels: 3.")
    print(f"Load average (1, 5, 15 min) before the runs: {a.load_before}; after: {a.load_after}. "
          f"Nice level of the servers and oha: {a.nice}. Sekisho built from {a.commit}.")
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print(f"- {p}")


if __name__ == "__main__":
    main()
