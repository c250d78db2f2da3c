#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer in a
# scratch copy (binding.gyp + native/ only; ./build and ./prebuilds are never
# touched) and runs the whole ava suite from the repo root against it:
#
#   REACTOR_THREADS_ADDON=<asan .node>  LD_PRELOAD=libasan.so  node ava --tap
#
# LD_PRELOAD is inherited by the child processes the tests spawn, so they run
# the same instrumented addon. Sanitizer reports are written to per-process
# files (log_path) as well as looked for in the output, so a report from a
# child whose stderr a test swallowed is still caught.
#
# Exits non-zero if the build fails, any test fails, or any sanitizer report
# appears. Last line: 'asan: N passed, N failed, N skipped, N sanitizer reports (Ts)'.
#
# Environment knobs:
#   ASAN_WORK          scratch dir (default /tmp/reactor-threads-asan)
#   ASAN_SKIP_BUILD=1  reuse $ASAN_WORK/build/Release/reactor_threads.node
#   ASAN_AVA_ARGS      extra ava arguments (e.g. a file glob, --serial)
#   ASAN_EXTRA_OPTIONS appended to ASAN_OPTIONS. Default quarantine_size_mb=16:
#                      ASan's default 256 MB quarantine of freed memory shows
#                      up as ~200 MB of RSS growth and fails soak-quick's
#                      50 MB growth check. ASAN_EXTRA_OPTIONS= (empty) keeps
#                      the full quarantine (then expect that one failure).
#   npm_config_nodedir Node headers for node-gyp (default /usr: /usr/include/node)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${ASAN_WORK:-/tmp/reactor-threads-asan}"
NODEDIR="${npm_config_nodedir:-/usr}"
LOGDIR="$WORK/sanitizer-logs"
OUT="$WORK/ava.tap"
ADDON="$WORK/build/Release/reactor_threads.node"
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
EXTRA_OPTS="${ASAN_EXTRA_OPTIONS-quarantine_size_mb=16}"
START=$(date +%s)

die() { echo "test-asan.sh: $*" >&2; echo "asan: 0 passed, 1 failed (setup error)"; exit 1; }

# ------------------------------------------------------------------ 1. build
build() {
  rm -rf "$WORK/build" "$WORK/native" && mkdir -p "$WORK"
  cp "$ROOT/binding.gyp" "$WORK/"
  cp -r "$ROOT/native" "$WORK/native"
  rm -rf "$WORK/native/test"
  # binding.gyp evaluates require('node-addon-api') in the build dir.
  ln -sfn "$ROOT/node_modules" "$WORK/node_modules"
  printf '{"name":"reactor-threads-asan","private":true}\n' > "$WORK/package.json"
  # gyp's make generator appends $(CXXFLAGS)/$(LDFLAGS) from the environment
  # after binding.gyp's own cflags, so -O1 here wins over its -O2.
  (cd "$WORK" &&
    CFLAGS="$SAN_FLAGS" CXXFLAGS="$SAN_FLAGS" LDFLAGS="-fsanitize=address,undefined" \
    npm_config_nodedir="$NODEDIR" \
    node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --release -j 2 >"$WORK/build.log" 2>&1)
}
if [[ ${ASAN_SKIP_BUILD:-} != 1 ]]; then
  echo "== building ASan+UBSan addon in $WORK"
  NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [[ -f $NODE_GYP ]] || NODE_GYP="$ROOT/node_modules/node-gyp/bin/node-gyp.js"
  [[ -f $NODE_GYP ]] || die "node-gyp not found (npm's bundled copy or node_modules)"
  # One retry from a fresh copy: a copy taken while native/ was being
  # edited may not compile.
  build || { echo "== build failed; retrying from a fresh copy in 10s"; sleep 10; build; } \
    || { tail -40 "$WORK/build.log" >&2; die "build failed (log: $WORK/build.log)"; }
fi
[[ -f $ADDON ]] || die "no addon at $ADDON"
# Not `grep -q`: it exits at the first match, ldd may then die of SIGPIPE,
# and pipefail turns that into a false "not linked".
ldd "$ADDON" | grep libasan >/dev/null || die "$ADDON is not linked against libasan"
echo "== addon: $ADDON ($(ldd "$ADDON" | grep -oE 'lib(asan|ubsan)[^ ]*' | sort -u | tr '\n' ' '))"

# ------------------------------------------------------------------ 2. tests
[[ -d $ROOT/dist-test ]] || (cd "$ROOT" && npm run build:test) || die "npm run build:test failed"
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"
LIBASAN="$(g++ -print-file-name=libasan.so)"
echo "== ava --tap (LD_PRELOAD=$LIBASAN)"
# shellcheck disable=SC2086
(cd "$ROOT" &&
  REACTOR_THREADS_ADDON="$ADDON" \
  LD_PRELOAD="$LIBASAN" \
  ASAN_OPTIONS="detect_leaks=0:log_path=$LOGDIR/asan:log_exe_name=1${EXTRA_OPTS:+:$EXTRA_OPTS}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGDIR/ubsan" \
  node node_modules/ava/entrypoints/cli.mjs --tap ${ASAN_AVA_ARGS:-}) >"$OUT" 2>&1
AVA_RC=$?

# ------------------------------------------------------------------ 3. verdict
PASSED=$(grep -E '^ok ' "$OUT" | grep -cvE '# (SKIP|TODO)')
FAILED=$(grep -E '^not ok ' "$OUT" | grep -cvE '# (SKIP|TODO)')
SKIPPED=$(grep -cE '^(not )?ok .*# SKIP' "$OUT")
SAN_PATTERN='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
REPORT_FILES=$(find "$LOGDIR" -type f | sort)
INLINE=$(grep -cE "$SAN_PATTERN" "$OUT")
NREPORTS=$(( $(printf '%s' "$REPORT_FILES" | grep -c . ) + (INLINE > 0 ? 1 : 0) ))

# Each failure with ava's diagnostics (the indented block after it), so a
# CI log says why, not only which.
awk '/^not ok /{show=1; n=0} /^(ok |# )/{show=0} show && n++ < 40' "$OUT" | head -200
grep -E '^# ' "$OUT" | head -40
if [[ -n $REPORT_FILES ]]; then
  for f in $REPORT_FILES; do echo "---- $f"; head -60 "$f"; done
fi
if (( INLINE > 0 )); then
  echo "---- sanitizer output inline in $OUT:"
  grep -nE -A40 "$SAN_PATTERN" "$OUT" | head -60
fi

SECS=$(( $(date +%s) - START ))
echo "asan: $PASSED passed, $FAILED failed, $SKIPPED skipped, $NREPORTS sanitizer reports (ava exit $AVA_RC, ${SECS}s; tap: $OUT)"
(( AVA_RC == 0 && FAILED == 0 && NREPORTS == 0 )) || exit 1
