#!/usr/bin/env bash
# Rebuilds every prebuild this machine can build from the sources on disk,
# each with its manifest.json, then checks them against those sources:
#
#   linux-x64    npm run prebuild (prebuildify, then prebuild-manifest.mjs)
#   linux-arm64  scripts/arm64.sh: cross-build, manifest, and its smoke
#                check under qemu (ARM64_SMOKE_ONLY=1; set ARM64_SKIP_TESTS=1
#                to build only, or ARM64_SMOKE_ONLY=0 for the whole suite)
#   win32-x64    scripts/win32.sh: cross-build with mingw-w64, manifest, and
#                its smoke check under wine (WIN32_SMOKE_ONLY=1; npm run
#                test:win32 runs the suite's core there too)
#
# Run after the native sources change, then commit prebuilds/:
#   npm run prebuild:all && git add prebuilds && git commit
# On a host other than linux-x64 it builds that host's prebuild only.
set -euo pipefail
cd "$(dirname "$0")/.."

# node-gyp builds against the local Node headers; never download them.
if [[ -z ${npm_config_nodedir:-} && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi
[[ -d node_modules/node-addon-api && -d node_modules/prebuildify ]] || npm install --no-audit --no-fund

host="$(node -p 'process.platform + "-" + process.arch')"
printf '\n== %s (npm run prebuild)\n' "$host"
npm run prebuild

if [[ $host == linux-x64 ]]; then
  printf '\n== linux-arm64 (scripts/arm64.sh)\n'
  ARM64_SMOKE_ONLY="${ARM64_SMOKE_ONLY:-1}" bash scripts/arm64.sh
  printf '\n== win32-x64 (scripts/win32.sh)\n'
  WIN32_SMOKE_ONLY="${WIN32_SMOKE_ONLY:-1}" bash scripts/win32.sh
else
  echo "linux-arm64, win32-x64: not built (scripts/arm64.sh and scripts/win32.sh cross-build from linux-x64 only)"
fi

printf '\n== the prebuilds on disk against the sources on disk\n'
node scripts/check-prebuilds.mjs --worktree
