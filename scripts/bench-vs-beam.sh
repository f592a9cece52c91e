#!/usr/bin/env bash
# Runs every benchmark of issue 7 on otplab (`otplab bench NAME`) and on the BEAM
# (scripts/beam/*.exs, the same work in plain Elixir), alternating the two R times, and prints
# a markdown table of the medians with the ratio otplab/BEAM and which side is better. The
# primitives (call, cast, spawn) also get a floor column: `otplab bench floor`, the same work
# done with bare tokio on the same runtime in the same rep, run just before them, so each shows
# how far it is from what tokio itself does on this machine at that moment.
#
#   scripts/bench-vs-beam.sh            # R=3, every load test at 1,000,000 lists (about 11 min on 2 cores)
#   R=5 scripts/bench-vs-beam.sh
#   FULL=0 scripts/bench-vs-beam.sh     # loadtest-system/-ets at 100,000 lists (about 7 min)
#   SMOKE=1 scripts/bench-vs-beam.sh    # tiny sizes, to check the script itself
#   OTPLAB_BIN=/path/to/otplab ...       # use that binary instead of building one
#
# Installs Elixir with apt-get when `elixir` is missing. Raw RESULT lines go to
# target/bench-vs-beam/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

R=${R:-3}
FULL=${FULL:-1}
SMOKE=${SMOKE:-0}
OUT=target/bench-vs-beam
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: >"$RESULTS"

if ! command -v elixir >/dev/null 2>&1; then
    echo "elixir is missing: installing it with apt-get" >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y elixir erlang-dev >&2
fi

if [ -n "${OTPLAB_BIN:-}" ]; then
    OTPLAB=$OTPLAB_BIN # a binary built before, e.g. while the tree is being edited
else
    echo "building otplab (release)" >&2
    cargo build --release --quiet
    OTPLAB=target/release/otplab
fi
export ELIXIR_ERL_OPTIONS="+P 4000000"
BEAM=elixir
B=scripts/beam

# name | otplab arguments | BEAM arguments (none: otplab only). Sizes: the BEAM figures' table (anchors), with the
# ch.9 load tests at 1M lists unless FULL=0 (1M takes the BEAM about a minute per run).
if [ "$SMOKE" = 1 ]; then S="--smoke"; else S=""; fi
SYS_N=100000
if [ "$FULL" = 1 ]; then SYS_N=1000000; fi
if [ "$SMOKE" = 1 ]; then SYS_N=2000; fi
CHAPTER_N=1000000
if [ "$SMOKE" = 1 ]; then CHAPTER_N=2000; fi
BENCHES=(
    "cache-gen|bench cache-gen $S|$B/cache.exs gen $S"
    "cache-ets|bench cache-ets $S|$B/cache.exs ets $S"
    "loadtest-chapter|bench loadtest-chapter --n $CHAPTER_N|$B/loadtest.exs chapter --n $CHAPTER_N"
    "loadtest-system|bench loadtest-system --n $SYS_N|$B/loadtest.exs system --n $SYS_N"
    "loadtest-ets|bench loadtest-ets --n $SYS_N|$B/loadtest.exs ets --n $SYS_N"
    "entries|bench entries $S|$B/entries.exs $S"
    "floor|bench floor $S|"
    "call|bench call $S|$B/primitives.exs call $S"
    "cast|bench cast $S|$B/primitives.exs cast $S"
    "spawn|bench spawn $S|$B/primitives.exs spawn $S"
    "genserver-start|bench genserver-start $S|$B/primitives.exs genserver-start $S"
    "flood|bench flood $S|$B/flood.exs $S"
    "recovery|bench recovery $S|$B/recovery.exs $S"
    "crash-loop|bench crash-loop $S|$B/crash_loop.exs $S"
)

run_side() { # side name command...
    local side=$1 name=$2
    shift 2
    local log="$OUT/$side-$name.log"
    if ! "$@" >"$log" 2>&1; then
        echo "  $side $name FAILED (see $log)" >&2
        tail -5 "$log" >&2
        return 0
    fi
    grep '^RESULT ' "$log" | sed "s/^RESULT /$side /" >>"$RESULTS"
}

started=$(date +%s)
for rep in $(seq 1 "$R"); do
    for entry in "${BENCHES[@]}"; do
        IFS='|' read -r name ours theirs <<<"$entry"
        echo "[$rep/$R] $name: otplab${theirs:+, then BEAM}" >&2
        # shellcheck disable=SC2086
        run_side otplab "$name" $OTPLAB $ours
        if [ -n "$theirs" ]; then
            # shellcheck disable=SC2086
            run_side beam "$name" $BEAM $theirs
        fi
    done
done
elapsed=$(($(date +%s) - started))

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
otp=$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null || echo "?")
ex=$(elixir --version 2>/dev/null | grep -m1 '^Elixir' | cut -d' ' -f2 || echo "?")
echo
echo "bench-vs-beam: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($cpu), $mem;" \
    "Elixir $ex on OTP $otp; medians of $R alternating runs; took ${elapsed}s."
echo "Sizes: cache 1 client x 100k and 100 clients x 10k; loadtest-chapter $CHAPTER_N lists;" \
    "loadtest-system/-ets $SYS_N lists$([ "$FULL" = 1 ] || echo ' (FULL=0: not 1M, which takes the BEAM a minute a run)');" \
    "entries 20k lists; call, cast, spawn 1M; genserver-start 100k; flood 1 s + 0.5 s; recovery 5 reps; crash-loop 2 s after 1.2 s."
echo "otplab memory is resident set size (/proc/self/statm), the BEAM's :erlang.memory(:total);" \
    "otplab's *_nofsync rows compare with the BEAM's File.write! (no fsync) row of the same name;" \
    "floor is bare tokio doing the primitive's work on the same runtime (otplab bench floor)."
echo
awk '
function median(key,    n, i, j, t, a, s) {
    n = split(vals[key], a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    if (n == 0) return ""
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v) {
    if (v == "") return "-"
    if (v + 0 >= 1000 || v + 0 <= -1000) return sprintf("%.0f", v)
    return sprintf("%.3f", v)
}
{
    side = $1; bench = $2; sub(/:$/, "", bench); metric = $3; value = $4; unit = $5
    key = side SUBSEP bench SUBSEP metric
    vals[key] = vals[key] " " value
    # The floor is a column of the primitives it measures, not rows of its own: its metric
    # `call_round_trip` is the floor of bench call, metric round_trip.
    if (bench == "floor") next
    if (side == "otplab" && !((bench, metric) in seen)) { seen[bench, metric] = 1; order[++n] = bench SUBSEP metric; units[bench, metric] = unit }
}
END {
    print "| bench | metric | unit | otplab | BEAM | floor | otplab/BEAM | otplab/floor | better |"
    print "|---|---|---|---:|---:|---:|---:|---:|---|"
    for (i = 1; i <= n; i++) {
        split(order[i], p, SUBSEP); bench = p[1]; metric = p[2]; unit = units[bench, metric]
        theirs = metric; sub(/_nofsync$/, "", theirs)
        o = median("otplab" SUBSEP bench SUBSEP metric)
        b = median("beam" SUBSEP bench SUBSEP theirs)
        f = median("otplab" SUBSEP "floor" SUBSEP bench "_" metric)
        ratio = "-"; better = "-"; over = "-"
        if (o != "" && f != "" && f + 0 != 0) over = sprintf("%.2fx", o / f)
        if (o != "" && b != "" && b + 0 != 0) {
            r = o / b; ratio = sprintf("%.2fx", r)
            higher = (unit ~ /\/s$/)
            if (r == 1) better = "same"
            else if ((higher && r > 1) || (!higher && r < 1)) better = "otplab"
            else better = "BEAM"
        }
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", bench, metric, unit, fmt(o), fmt(b), fmt(f), ratio, over, better
    }
}' "$RESULTS"
