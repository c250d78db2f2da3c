#!/usr/bin/env bash
# Native unit tests of the scheduling core (native/pool.cc, reactor.cc,
# registry.cc, bridge.cc) under ThreadSanitizer, without Node: the few
# napi_* calls they make are stubbed (native/test/napi_stub.cc).
#
#   g++ -std=c++17 -O1 -g -fsanitize=thread ... && TSAN_OPTIONS=halt_on_error=1 core_test
#
# Exits non-zero on a failed check or any TSan report. Last line:
#   'native-tsan: PASS|FAIL - ...'.
#
# Environment knobs:
#   NATIVE_WORK     scratch dir for the binary and log (default /tmp/reactor-threads-native)
#   NATIVE_CHECKER  tsan (default) | helgrind | drd | none  (valgrind tools build without TSan)
#   NATIVE_SCALE    multiplies the iteration counts (default 1)
#   NATIVE_FILTER   run only tests whose name contains this
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${NATIVE_WORK:-/tmp/reactor-threads-native}"
CHECKER="${NATIVE_CHECKER:-tsan}"
SCALE="${NATIVE_SCALE:-1}"
NODE_INC="${NODE_INCLUDE_DIR:-/usr/include/node}"
mkdir -p "$WORK"
BIN="$WORK/core_test-$CHECKER"
LOG="$WORK/core_test-$CHECKER.log"
START=$(date +%s)

SOURCES=(
  "$ROOT/native/test/core_test.cc" "$ROOT/native/test/napi_stub.cc"
  "$ROOT/native/pool.cc" "$ROOT/native/reactor.cc" "$ROOT/native/registry.cc" "$ROOT/native/bridge.cc"
)
COMMON=(-std=c++17 -g -Wall -Wextra -Wno-unused-parameter -DNAPI_VERSION=8 -I"$NODE_INC" -I"$ROOT/native" -pthread)
case "$CHECKER" in
  tsan) FLAGS=(-O1 -fsanitize=thread) ;;
  helgrind|drd|none) FLAGS=(-O1) ;;
  *) echo "native-tsan: FAIL - unknown NATIVE_CHECKER=$CHECKER"; exit 2 ;;
esac

[[ -f $NODE_INC/node_api.h ]] || { echo "native-tsan: FAIL - no node_api.h in $NODE_INC"; exit 2; }
echo "== g++ ${FLAGS[*]} (${CHECKER})"
if ! g++ "${COMMON[@]}" "${FLAGS[@]}" "${SOURCES[@]}" -o "$BIN" 2>"$WORK/compile.log"; then
  cat "$WORK/compile.log" >&2
  echo "native-tsan: FAIL - compile error (${CHECKER})"
  exit 1
fi
grep -q warning "$WORK/compile.log" && cat "$WORK/compile.log"

ARGS=(--scale="$SCALE")
[[ -n ${NATIVE_FILTER:-} ]] && ARGS+=("$NATIVE_FILTER")

run() {
  case "$CHECKER" in
    tsan)
      TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}" "$@" ;;
    helgrind|drd)
      valgrind --tool="$CHECKER" --error-exitcode=66 -q "$@" ;;
    none) "$@" ;;
  esac
}

echo "== $BIN ${ARGS[*]}"
run "$BIN" "${ARGS[@]}" >"$LOG" 2>&1
RC=$?
# gcc 12's TSan cannot map its shadow under high-entropy ASLR
# (vm.mmap_rnd_bits > 28): retry once with ASLR off for this process.
if [[ $CHECKER == tsan ]] && grep -q 'unexpected memory mapping\|FATAL: ThreadSanitizer' "$LOG" &&
   command -v setarch >/dev/null; then
  echo "== TSan could not map its shadow memory; retrying under setarch -R (no ASLR)"
  run setarch "$(uname -m)" -R "$BIN" "${ARGS[@]}" >"$LOG" 2>&1
  RC=$?
fi
cat "$LOG"

SECS=$(( $(date +%s) - START ))
TSAN_REPORTS=$(grep -c 'WARNING: ThreadSanitizer' "$LOG")
VG_ERRORS=$(grep -oE 'ERROR SUMMARY: [0-9]+' "$LOG" | awk '{s+=$3} END {print s+0}')
SUMMARY=$(grep -E '^core_test: ' "$LOG" | tail -1)
FAILED=$(grep -E '^FAILED ' "$LOG" | head -1)
if (( RC == 0 && TSAN_REPORTS == 0 )) && [[ -n $SUMMARY ]]; then
  echo "native-tsan: PASS - ${SUMMARY#core_test: } [$CHECKER, ${SECS}s incl. build]"
  exit 0
fi
echo "native-tsan: FAIL - exit $RC, $TSAN_REPORTS TSan report(s), valgrind errors $VG_ERRORS${FAILED:+, $FAILED} [$CHECKER, ${SECS}s; log: $LOG]"
exit 1
