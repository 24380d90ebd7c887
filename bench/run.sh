#!/usr/bin/env bash
# Gateway benchmark: builds Sekisho and the bench harness, starts Sekisho
# (echo backend, three SCP levels, a user with ten identity policies and a
# boundary) and a direct backend on the same HTTPS stack, then measures with
# oha over TLS with keep-alive, replaying one SigV4-signed Converse request:
#
#   1. latency at one request at a time (concurrency 1), direct vs Sekisho;
#   2. throughput at concurrency $CONCURRENCY, Sekisho (and direct);
#   3. RSS of the Sekisho process at rest and after the load.
#
# Everything listens on 127.0.0.1 only; every run is bounded in time.
# Settings (environment):
#   LAT_SECS=20        seconds of each concurrency-1 run
#   LAT_ROUNDS=2       direct/Sekisho pairs of concurrency-1 runs (interleaved)
#   TPUT_SECS=20       seconds of each throughput run
#   CONCURRENCY=32     connections of the throughput runs
#   WARMUP_REQS=2000   requests sent to each server before measuring
#   PORT=28443 DIRECT_PORT=28444
#   CARGO_TARGET_DIR   where to build (default: <repo>/target)
#   OHA                the oha binary (default: oha on PATH; installed with
#                      `cargo install oha --locked --version 1.16.0` if absent)
#   NICE=-10           run the servers and oha at this nice level (as root), to
#                      see how much of the tail is other processes' CPU load
#   KEEP=1             keep the work directory (config, data dir, results)
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
LAT_SECS="${LAT_SECS:-20}"
LAT_ROUNDS="${LAT_ROUNDS:-2}"
TPUT_SECS="${TPUT_SECS:-20}"
CONCURRENCY="${CONCURRENCY:-32}"
WARMUP_REQS="${WARMUP_REQS:-2000}"
PORT="${PORT:-28443}"
DIRECT_PORT="${DIRECT_PORT:-28444}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
OHA_VERSION=1.16.0
PRIO=()
if [ -n "${NICE:-}" ]; then PRIO=(nice -n "$NICE"); fi

log() { printf '== %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
OHA="${OHA:-$(command -v oha || true)}"
if [ -z "$OHA" ]; then
    log "installing oha $OHA_VERSION from crates.io (a few minutes)"
    cargo install oha --locked --version "$OHA_VERSION"
    OHA="$(command -v oha || echo "$HOME/.cargo/bin/oha")"
fi
python3 -c 'import botocore' 2>/dev/null || { echo "python3 with botocore is needed (pip install botocore)" >&2; exit 1; }

# --- build -----------------------------------------------------------------
log "building sekisho (release) and the bench harness into $CARGO_TARGET_DIR"
(cd "$REPO" && cargo build --release -q -p sekisho)
cargo build --release -q --manifest-path "$BENCH/Cargo.toml" --bins
SEKISHO="$CARGO_TARGET_DIR/release/sekisho"
SEED="$CARGO_TARGET_DIR/release/seed"
DIRECT="$CARGO_TARGET_DIR/release/direct-backend"

# --- set up ----------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sekisho-bench.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

cat >"$WORK/sekisho.toml" <<EOF
data_dir = "$WORK/data"
regions = ["us-east-1", "us-west-2", "ap-northeast-1"]

[[listener]]
bind = "127.0.0.1:$PORT"
allow = ["127.0.0.0/8"]

[organization]
id = "o-bench000001"

[[organization.level]]
id = "r-root"
scps = ["$BENCH/policies/scp/1-root.json"]

[[organization.level]]
id = "ou-workloads"
scps = ["$BENCH/policies/scp/2-ou-workloads.json"]

[[organization.level]]
id = "account"
scps = ["$BENCH/policies/scp/3-account.json"]

[[model]]
id = "sekisho.echo-v1"
backend = "echo"
regions = ["*"]

[backends.echo]
type = "echo"

[limits]
requests_per_second = 1000000.0
burst = 1000000
max_concurrent_per_principal = 4096
EOF

wait_port() { # port
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}
wait_ready() { # log file: Sekisho prints "listening on" once it serves
    for _ in $(seq 1 300); do
        if grep -q "listening on" "$1" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "Sekisho did not start; see $1" >&2
    return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

log "first start: initialise the data directory"
SEKISHO_LOG=warn "$SEKISHO" serve --config "$WORK/sekisho.toml" >"$WORK/sekisho-init.log" 2>&1 &
pid=$!
wait_ready "$WORK/sekisho-init.log"
kill "$pid"; wait "$pid" 2>/dev/null || true

log "seed the benchmark user and its policies"
"$CARGO_TARGET_DIR/release/seed" --data-dir "$WORK/data" --policies "$BENCH/policies" --out "$WORK/creds.json" >&2

log "start sekisho and the direct backend"
SEKISHO_LOG=warn "${PRIO[@]}" "$SEKISHO" serve --config "$WORK/sekisho.toml" >"$WORK/sekisho.log" 2>&1 &
SPID=$!
PIDS+=("$SPID")
"${PRIO[@]}" "$DIRECT" --bind "127.0.0.1:$DIRECT_PORT" --cert "$WORK/data/server.pem" --key "$WORK/data/server-key.pem" >"$WORK/direct.log" 2>&1 &
DPID=$!
PIDS+=("$DPID")
wait_ready "$WORK/sekisho.log"
wait_port "$DIRECT_PORT"
sleep 2
RSS_REST=$(rss_kb "$SPID")
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

CA="$WORK/data/ca.pem"
BODY="$BENCH/body.json"
URL_GW="https://127.0.0.1:$PORT/model/sekisho.echo-v1/converse"
URL_DIRECT="https://127.0.0.1:$DIRECT_PORT/model/sekisho.echo-v1/converse"

# oha arguments for one freshly signed request to $1.
signed_args() {
    local url="$1" line
    SIGNED=(-m POST -D "$BODY" --cacert "$CA")
    while IFS= read -r line; do
        SIGNED+=(-H "$line")
    done < <(python3 "$BENCH/sign.py" --creds "$WORK/creds.json" --url "$url" --body-file "$BODY")
}

# Sanity: both answer 200 with the same Converse JSON (apart from latencyMs),
# and the policy set is in force: a model outside the approved list is
# refused with AccessDeniedException (an SCP and an identity policy deny it).
check() { # url
    signed_args "$1"
    local hdrs=()
    local i
    for ((i = 0; i < ${#SIGNED[@]}; i++)); do
        if [ "${SIGNED[$i]}" = -H ]; then hdrs+=(-H "${SIGNED[$((i + 1))]}"); fi
    done
    curl -sS --cacert "$CA" -X POST --data-binary "@$BODY" "${hdrs[@]}" -w '\n%{http_code}' "$1"
}
GW_REPLY="$(check "$URL_GW")"
DIRECT_REPLY="$(check "$URL_DIRECT")"
DENIED_REPLY="$(check "https://127.0.0.1:$PORT/model/meta.llama2-13b-chat-v1/converse")"
log "sekisho answers: $(echo "$GW_REPLY" | tr '\n' ' ')"
log "direct answers:  $(echo "$DIRECT_REPLY" | tr '\n' ' ')"
log "a model the policies deny: $(echo "$DENIED_REPLY" | tr '\n' ' ')"
[ "$(echo "$GW_REPLY" | tail -1)" = 200 ] || { echo "sekisho did not answer 200; see $WORK/sekisho.log" >&2; KEEP=1; exit 1; }
[ "$(echo "$DIRECT_REPLY" | tail -1)" = 200 ] || { echo "the direct backend did not answer 200" >&2; KEEP=1; exit 1; }
[ "$(echo "$DENIED_REPLY" | tail -1)" = 403 ] || { echo "the policy set did not deny a model outside the approved list" >&2; KEEP=1; exit 1; }

# run NAME URL OHA-ARGS...: one oha run, JSON into $WORK/NAME.json.
run() {
    local name="$1" url="$2"
    shift 2
    signed_args "$url"
    "${PRIO[@]}" "$OHA" --no-tui --output-format json "${SIGNED[@]}" "$@" "$url" >"$WORK/$name.json"
}

log "warm-up: $WARMUP_REQS requests to each"
run warm-direct "$URL_DIRECT" -n "$WARMUP_REQS" -c 4
run warm-gw "$URL_GW" -n "$WARMUP_REQS" -c 4

for r in $(seq 1 "$LAT_ROUNDS"); do
    log "latency round $r: concurrency 1, ${LAT_SECS}s each"
    run "lat-direct-$r" "$URL_DIRECT" -c 1 -z "${LAT_SECS}s"
    run "lat-gw-$r" "$URL_GW" -c 1 -z "${LAT_SECS}s"
done

log "throughput: concurrency $CONCURRENCY, ${TPUT_SECS}s each"
c0=$(cpu_ticks "$DPID")
run tput-direct "$URL_DIRECT" -c "$CONCURRENCY" -z "${TPUT_SECS}s"
CPU_DIRECT=$(( $(cpu_ticks "$DPID") - c0 ))
c0=$(cpu_ticks "$SPID")
run tput-gw "$URL_GW" -c "$CONCURRENCY" -z "${TPUT_SECS}s"
CPU_GW=$(( $(cpu_ticks "$SPID") - c0 ))

sleep 2
RSS_AFTER=$(rss_kb "$SPID")
HWM=$(hwm_kb "$SPID")
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ----------------------------------------------------------------
python3 "$BENCH/report.py" --dir "$WORK" --rounds "$LAT_ROUNDS" --concurrency "$CONCURRENCY" \
    --cpu-direct "$CPU_DIRECT" --cpu-gw "$CPU_GW" --clk-tck "$(getconf CLK_TCK)" \
    --commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO" diff --quiet HEAD -- crates 2>/dev/null || echo ' + uncommitted changes under crates/')" \
    --nice "${NICE:-0}" --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" \
    --rss-rest "$RSS_REST" --rss-after "$RSS_AFTER" --rss-peak "$HWM" \
    --identity-policies "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identity_policies"])' "$WORK/creds.json")"
