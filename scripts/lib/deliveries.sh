# Sourced by scripts/demo.sh and the browser test (tests/browser/survey_form_test.sh).
#
# wait_for_deliveries TRIAL SECONDS: waits until messaging has delivered every send of TRIAL
# due by the simulated clock's time — nothing due left waiting in the schedule, and the
# delivery stream with no unacknowledged entries and none after the workers' last-delivered id
# (Redis keys of services/messaging/keys.h). Not the group's "lag": Redis 7.0 can report it
# stale after a restart (1,600 for an empty stream). Returns 1 when SECONDS pass first.
# The caller defines `redis` (redis-cli against the stack's Redis) and `clock_now` (the
# simulated clock's time).
wait_for_deliveries() {
  local trial=$1 seconds=$2
  local stream="fw:{$trial}:msg:stream" now_ms due pending last unread_lines
  now_ms=$(( $(date -d "$(clock_now)" +%s) * 1000 ))
  for _ in $(seq 1 $(( seconds * 5 ))); do
    due=$(redis zcount "fw:{$trial}:msg:due" -inf "$now_ms")
    read -r pending last < <(redis xinfo groups "$stream" 2>/dev/null |
      awk 'prev == "pending" {p = $1} prev == "last-delivered-id" {l = $1} {prev = $1}
           END {print (p == "" ? 0 : p), (l == "" ? "0-0" : l)}')
    # The first entry after the last-delivered id, if any (its lines; 0 when there is none).
    unread_lines=$(redis xrange "$stream" "($last" + count 1 | grep -c . || true)
    [[ $due == 0 && $pending == 0 && $unread_lines == 0 ]] && return 0
    sleep 0.2
  done
  return 1
}
