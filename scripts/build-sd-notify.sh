#!/usr/bin/env bash
# Builds the `sd-notify` native addon for the HOSTS' Node (Debian 12: nodejs 18, ABI 108) on this machine,
# which must match the hosts' platform (Debian 12, x86_64, glibc), and writes a node_modules tree that an app
# ships in its build dir: OUT/node_modules/{sd-notify,bindings,file-uri-to-path}. shipit's runtime then loads it
# (see src/runtime/notify.ts); without it, the runtime falls back to systemd-notify.
#
# The headers come from Debian's libnode-dev package of the hosts' release, downloaded and unpacked here (not
# installed: it would conflict with a newer Node on this machine). Needs build-essential and libsystemd-dev.
#   usage: scripts/build-sd-notify.sh OUT_DIR
set -euo pipefail
out=${1:?usage: build-sd-notify.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && apt-get download libnode-dev > /dev/null 2>&1) || { apt-get update -q > /dev/null && (cd "$work" && apt-get download libnode-dev > /dev/null); }
dpkg-deb -x "$work"/libnode-dev_*.deb "$work/deb"
mkdir -p "$work/nodedir/include"
cp -r "$work/deb/usr/include/node" "$work/nodedir/include/node"
version=$(sed -n 's/^#define NODE_MAJOR_VERSION \([0-9]*\)/\1/p' "$work/nodedir/include/node/node_version.h")

cp -r "$root/node_modules/sd-notify" "$work/sd-notify"
rm -rf "$work/sd-notify/build"
gyp=$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
[[ -f $gyp ]] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
# Under `npm run`/`npm exec`, npm's npm_config_* variables reach node-gyp and override --nodedir (it then builds
# for the Node running here): drop them.
while read -r var; do unset "$var"; done < <(compgen -e | grep -i '^npm_')
(cd "$work/sd-notify" && node "$gyp" rebuild --nodedir="$work/nodedir" > "$work/gyp.log" 2>&1) || { cat "$work/gyp.log" >&2; exit 1; }
# Refuse to hand over an addon built for the wrong Node: the ABI is in the binary's module registration.
abi=$(sed -n 's/^#define NODE_MODULE_VERSION \([0-9]*\).*/\1/p' "$work/nodedir/include/node/node_version.h")
if [[ -n $abi && $abi != "$(node -p process.versions.modules)" ]] && node -e "require('$work/sd-notify/build/Release/notify.node')" 2> /dev/null; then
  echo "build-sd-notify: the addon loads on this machine's Node, so it was not built for ABI $abi" >&2
  exit 1
fi

mkdir -p "$out/node_modules"
rm -rf "$out/node_modules/sd-notify"
mkdir -p "$out/node_modules/sd-notify/build/Release"
cp "$work/sd-notify/"{package.json,index.js,LICENSE} "$out/node_modules/sd-notify/"
cp "$work/sd-notify/build/Release/notify.node" "$out/node_modules/sd-notify/build/Release/"
for dep in bindings file-uri-to-path; do rm -rf "$out/node_modules/$dep"; cp -r "$root/node_modules/$dep" "$out/node_modules/$dep"; done
echo "sd-notify built for node $version (headers from Debian's libnode-dev) in $out/node_modules"
