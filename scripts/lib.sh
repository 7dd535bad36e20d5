# shellcheck shell=bash
# Shared helpers for the test scripts (sourced, never run): logging, timed steps, waiting,
# and the state directory where daemons keep their logs, pid files and data.

LMNOP_TEST_STATE="${LMNOP_TEST_STATE:-/tmp/lmnop-test}"
export LMNOP_TEST_STATE

# Root's PATH under CI or sudo may lack the sbin directories (dockerd, runuser, pg tools).
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" ;;
esac
export PATH

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# die_with_log FILE MESSAGE: fail, showing the end of the log that explains why.
die_with_log() {
  local file="$1"
  shift
  printf 'error: %s\n' "$*" >&2
  if [[ -s "$file" ]]; then
    printf -- '--- last lines of %s ---\n' "$file" >&2
    tail -n 40 "$file" >&2
    printf -- '--- end of %s ---\n' "$file" >&2
  fi
  exit 1
}

# step NAME COMMAND...: run one setup step, printing its name and how long it took. A failing
# command ends the script through `set -e`; the EXIT trap below then names the step that failed.
step() {
  _step_name="$1"
  _step_start=$EPOCHREALTIME
  shift
  say "--> $_step_name"
  "$@"
  say "    ok ($(elapsed_since "$_step_start"))"
  _step_name=
}

_report_failed_step() {
  local rc=$?
  if ((rc != 0)) && [[ -n "${_step_name:-}" ]]; then
    printf '    FAILED: %s (%s, exit %d)\n' "$_step_name" "$(elapsed_since "$_step_start")" "$rc" >&2
  fi
}
trap _report_failed_step EXIT

# elapsed_since START: seconds since an $EPOCHREALTIME reading, e.g. "3.2s".
elapsed_since() {
  local start_us now_us
  start_us="${1//[.,]/}"
  now_us="${EPOCHREALTIME//[.,]/}"
  local tenths=$(((10#$now_us - 10#$start_us) / 100000))
  printf '%d.%ds' $((tenths / 10)) $((tenths % 10))
}

# wait_until SECONDS COMMAND...: retry COMMAND every half second until it succeeds or time runs out.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# take_setup_lock: one setup at a time (two runs starting the same daemons would trip over each
# other). The lock is fd 9 until the script exits; anything long-lived started meanwhile must
# be started with `9>&-`, or it would hold the lock for ever.
take_setup_lock() {
  exec 9>"$LMNOP_TEST_STATE/setup.lock"
  flock -w 1800 9 || die "another setup still holds $LMNOP_TEST_STATE/setup.lock after 30 min"
}

# start_daemon NAME COMMAND...: start a long-lived process detached from this script (own
# session, stdin and the setup lock closed), logging to $LMNOP_TEST_STATE/NAME.log and
# recording its pid in $LMNOP_TEST_STATE/NAME.pid.
start_daemon() {
  local name="$1"
  shift
  local log="$LMNOP_TEST_STATE/$name.log"
  printf '\n=== %s: starting %s\n' "$(date -Is)" "$*" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$LMNOP_TEST_STATE/$name.pid"
}

mkdir -p "$LMNOP_TEST_STATE"
