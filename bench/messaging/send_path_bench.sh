#!/usr/bin/env bash
# The real send path at queue speed (issue 18), printed, never asserted: scripts/run.sh's stack
# (durable Redis with appendfsync always, auth on, the simulated clock, messaging's default four
# worker threads), its messaging restarted with the file channel (--file_channel_path) so the
# channel is not the limit; a trial of N participants (default 100,000) randomised into two
# arms (bench/messaging/send_path/protocol.yaml). Three phases, each timed from the clock move
# that makes it due until its last message is in the file:
#   1. an intervention e-mail to the treatment arm (each send's guard needs the arm);
#   2. a survey invitation to the control arm;
#   3. the reminder to the control arm (each send's guard asks survey-ingest whether the
#      participant responded; nobody did, so every reminder goes).
# The phases start once the setup's own work is done (see settle). Then: no send twice and none
# missing (each key once, every participant of the arm once per step). Printed beside the
# in-memory worker benchmark (messaging_send_bench, no gRPC facts) and redis-benchmark's XADD
# rate on the stack's own Redis. Target: >= 10,000 sends/s end to end, reminders included.
#
# Each phase also prints every process's CPU per send, how busy the whole machine was, and the
# Redis AOF rewrites it paid for; then the CPU the stack's Redis spent during the phases and its
# busiest commands.
#
# Usage: FIELDWORK_BIN_DIR=build/release/bin bench/messaging/send_path_bench.sh [participants]
#   SEND_PATH_WORKER_BATCH=N: messaging's --worker_batch (default: the binary's, 1,000)
#   SEND_PATH_WORKER_THREADS=N: messaging's --worker_threads (default: the binary's, 4, as run.sh)
set -euo pipefail

n=${1:-100000}
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FIELDWORK_BIN_DIR:-$src/build/release/bin}
export FIELDWORK_BIN_DIR=$bin
fieldwork=$bin/fieldwork
simclock=$bin/fieldwork-simclock
work=$(mktemp -d /tmp/fieldwork-send-path-bench.XXXXXX)
stack=$work/stack
sends=$work/sends.jsonl
cleanup() { "$src/scripts/run.sh" stop --dir "$stack" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "send path benchmark: $n participants, binaries from $bin, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$src/scripts/run.sh" start --dir "$stack" --simulated-clock >"$work/start.log" 2>&1 ||
  { cat "$work/start.log" >&2; exit 1; }
# messaging again, exactly as run.sh started it, but delivering to the file channel (an empty
# --smtp_url, given last, turns the SMTP channel off: otherwise it would take the e-mail).
kill -TERM "$(cat "$stack/pids/messaging.pid")"
while kill -0 "$(cat "$stack/pids/messaging.pid")" 2>/dev/null; do sleep 0.2; done
printf '%s\0' "--file_channel_path=$sends" "--smtp_url=" >>"$stack/pids/messaging.cmd"
[[ -n ${SEND_PATH_WORKER_BATCH:-} ]] &&
  printf '%s\0' "--worker_batch=$SEND_PATH_WORKER_BATCH" >>"$stack/pids/messaging.cmd"
[[ -n ${SEND_PATH_WORKER_THREADS:-} ]] &&
  printf '%s\0' "--worker_threads=$SEND_PATH_WORKER_THREADS" >>"$stack/pids/messaging.cmd"
"$src/scripts/run.sh" start-service messaging --dir "$stack" >"$work/restart.log" 2>&1 ||
  { cat "$work/restart.log" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
source "$stack/env"
set +a
cd "$work"

"$simclock" set 2021-01-04T07:00:00Z >/dev/null
"$fieldwork" apply "$src/bench/messaging/send_path/protocol.yaml" >apply.log
"$fieldwork" simulate roster "$src/bench/messaging/send_path/protocol.yaml" --n="$n" --seed=18 \
  --out=sim >/dev/null
"$fieldwork" enrol sendbench sim/roster.csv >/dev/null
"$fieldwork" contacts sendbench sim/contacts.csv >/dev/null
"$fieldwork" randomise sendbench >/dev/null
"$fieldwork" export sendbench >allocations.csv
treated=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "messages") c = i; next }
                   $c == "treatment" { t++ } END { print t + 0 }' allocations.csv)
control=$((n - treated))
"$fieldwork" campaign start sendbench tips >/dev/null
"$fieldwork" campaign start sendbench survey >/dev/null
: >"$sends"

lines() { wc -l <"$sends"; }
# cpu_ticks: "name ticks" per process of the stack (user + system, in clock ticks), and as
# "redis-rewrite" the CPU of Redis's AOF rewrite children (Redis counts a child when it ends,
# so a rewrite lands in the phase it finishes in).
cpu_ticks() {
  local file name
  for file in "$stack"/pids/*.pid; do
    name=$(basename "$file" .pid)
    awk -v name="$name" '{ sub(/^.*\) /, ""); print name, $12 + $13 }' "/proc/$(cat "$file")/stat" 2>/dev/null || true
  done
  redis-cli -p "$redis_port" INFO cpu | tr -d '\r' | awk -F: -v hz="$(getconf CLK_TCK)" '
    /^used_cpu_(sys|user)_children:/ { s += $2 } END { printf "redis-rewrite %.0f\n", s * hz }'
}
# machine_ticks: "busy total" clock ticks of all cores so far (/proc/stat: every process, the
# kernel, a Redis rewrite child), to tell how busy the machine was beside the stack's own count.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; ++i) t += $i; print t - $5 - $6, t }' /proc/stat; }
# phase NAME CLOCK WANT: moves the clock to CLOCK and times until the file has WANT lines.
phase() {
  local name=$1 clock=$2 want=$3 before start end count ticks_before rewrites_before machine_before
  before=$(lines)
  ticks_before=$(cpu_ticks)
  machine_before=$(machine_ticks)
  rewrites_before=$(aof_rewrites)
  start=$(date +%s.%N)
  "$simclock" set "$clock" >/dev/null
  while :; do
    count=$(lines)
    ((count >= want)) && break
    sleep 0.05
  done
  end=$(date +%s.%N)
  echo "$((count - before)) $start $end" >>"$work/phases"
  awk -v name="$name" -v n=$((count - before)) -v s="$start" -v e="$end" 'BEGIN {
    printf "  %-36s %7d sends in %6.2f s = %8.0f sends/s  (target >= 10,000)\n", name, n, e - s, n / (e - s) }'
  # Where the phase's CPU went, per process: microseconds of CPU per send.
  awk -v n=$((count - before)) -v hz="$(getconf CLK_TCK)" -v before="$ticks_before" '
    BEGIN { split(before, b, "\n"); for (i in b) { split(b[i], f, " "); was[f[1]] = f[2] } }
    { used = ($2 - was[$1]) / hz; total += used
      line = line sprintf(" %s %.0f", $1, used * 1e6 / n) }
    END { printf "    CPU per send, us:%s (all %.0f)\n", line, total * 1e6 / n }' <(cpu_ticks)
  read -r busy total < <(machine_ticks)
  awk -v b="$busy" -v t="$total" -v before="$machine_before" -v cores="$(nproc)" 'BEGIN {
    split(before, was, " ")
    printf "    the whole machine (/proc/stat): %.0f %% of %d cores busy\n",
           100 * (b - was[1]) / (t - was[2]), cores }'
  # A rewrite forks Redis and writes the whole data set again: a cost of AOF persistence that
  # lands in whichever phase makes the file grow past its threshold.
  echo "    Redis AOF rewrites started during the phase: $(($(aof_rewrites) - rewrites_before))"
}
redis_port=${FIELDWORK_REDIS_ADDRESS##*:}
aof_rewrites() {  # rewrites started so far: run.sh's Redis forks for nothing else (no RDB saves)
  redis-cli -p "$redis_port" INFO stats | tr -d '\r' | awk -F: '/^total_forks:/ { print $2 }'
}
redis_cpu() {  # seconds of CPU the stack's Redis has used
  redis-cli -p "$redis_port" INFO cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.2f", s }'
}
# settle: the phases time sending, so the setup's own work is let finish first (it used to land
# in the first phase by chance, about 20 us per send of it): the analysis monitor's load of the
# trial just randomised (its passes are every 30 s; a pass that read no trial has caught up)
# and a Redis AOF rewrite in progress (one that the phases' own writes start is counted).
monitor_metric() {
  python3 -c 'import sys, urllib.request
for line in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines():
    name, _, value = line.partition(" ")
    if name == sys.argv[2]: print(int(float(value)))' \
    "http://127.0.0.1:$FIELDWORK_ANALYSIS_METRICS_PORT/metrics" "$1"
}
settle() {
  local from passes=0 started monitor="still reading the trial after 100 s (timed anyway)"
  started=$(date +%s)
  from=$(monitor_metric fieldwork_analysis_monitor_run_seconds_count)
  while (($(date +%s) - started < 100)); do
    passes=$(($(monitor_metric fieldwork_analysis_monitor_run_seconds_count) - from))
    if ((passes >= 1)) && [[ $(monitor_metric fieldwork_analysis_monitor_trials_read) == 0 ]]; then
      monitor="caught up after $passes passes"
      break
    fi
    sleep 0.5
  done
  while redis-cli -p "$redis_port" INFO persistence | grep -q '^aof_rewrite_in_progress:1'; do
    sleep 0.2
  done
  echo "settled in $(($(date +%s) - started)) s: analysis monitor $monitor, no AOF rewrite running"
}
settle
redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
cpu_before=$(redis_cpu)
echo "end to end, real binaries over gRPC (run.sh stack, file channel, ${SEND_PATH_WORKER_THREADS:-4} worker threads):"
phase "intervention (arm looked up)" 2021-01-04T09:00:00Z "$treated"
phase "survey invitation" 2021-01-05T09:00:00Z $((treated + control))
phase "reminder (response looked up)" 2021-01-08T09:00:00Z $((treated + 2 * control))
# Over whole runs as well: a phase that pays for an AOF rewrite (about one every 50,000 sends at
# Redis's default threshold) is slower, and which phase pays depends on where the file
# crosses it. The issue's own benchmark is the intervention and reminder sends together (the
# first and third lines of $work/phases).
awk 'NR != 2 { n2 += $1; s2 += $3 - $2 } { n += $1; s += $3 - $2 } END {
  printf "  %-36s %7d sends in %6.2f s = %8.0f sends/s\n", "all three phases", n, s, n / s
  printf "  %-36s %7d sends in %6.2f s = %8.0f sends/s  (target >= 10,000)\n",
         "intervention and reminder (issue 18)", n2, s2, n2 / s2 }' "$work/phases"
# Where Redis's time went: it is one thread, shared by every service and worker.
awk -v b="$cpu_before" -v a="$(redis_cpu)" -v n=$((treated + 2 * control)) 'BEGIN {
  printf "  the stack'"'"'s Redis during the phases: %.1f s of CPU, %.0f us per send; busiest commands:\n",
    a - b, (a - b) * 1e6 / n }'
redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' |
  sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\3 \1 \2 \4/p' |
  sort -rn | head -n 6 |
  awk '{ printf "    %-14s %9d calls %9.1f s  %8.1f us/call\n", $2, $3, $1 / 1e6, $4 }'
sleep 2  # anything more arriving now would be a duplicate
python3 - "$sends" "$treated" "$control" <<'PY'
import collections, json, sys
path, treated, control = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = collections.Counter(json.loads(line)["key"] for line in open(path))
by_step = collections.Counter(":".join(k.split(":")[1:3]) for k in keys)
twice = sum(1 for c in keys.values() if c > 1)
want = {"tips:0": treated, "survey:0": control, "survey:1": control}
missing = sum(max(0, want[s] - by_step.get(s, 0)) for s in want)
print(f"  checked: {sum(keys.values())} lines, {len(keys)} distinct sends, {twice} sent twice, "
      f"{missing} missing; by campaign:step {dict(sorted(by_step.items()))}")
sys.exit(1 if twice or missing else 0)
PY

echo "beside it:"
if [[ -x $bin/messaging_send_bench ]]; then
  "$bin/messaging_send_bench" 50000 2 2>&1 | sed -n 's/^/  in-memory worker bench: /p' | tail -n 3
fi
redis-benchmark -p "$redis_port" -n 100000 -q XADD fw:bench:xadd '*' f v 2>/dev/null |
  tr '\r' '\n' | grep -a "requests per second" | tail -n 1 | sed 's/^/  redis-benchmark on the stack'"'"'s Redis: /'
