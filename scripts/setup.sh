#!/usr/bin/env bash
# Shared install step for CI and developers: the system packages the lab and the build need, the npm
# dependencies, then the build. Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }

# debootstrap + systemd-container: the lab (rootfs build, systemd-nspawn); iproute2: bridge/netns/veth;
# openssh-client: ssh, ssh-keygen (lab keys, e2e tests); libsystemd-dev + build-essential + python3: node-gyp
# builds the sd-notify native addon; haproxy: load-balancer tests and the demo; openssh-server: the ssh
# transport's unit tests start a throwaway sshd on loopback (the system service is disabled, never used);
# tmux: tests of the TTY output.
APT_PACKAGES=(debootstrap systemd-container iproute2 openssh-client openssh-server libsystemd-dev build-essential python3 haproxy tmux)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
has_candidate() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) != 0 ]]; then
    say "missing system packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when apt does not know a package we need (fresh machine, stale lists).
  for pkg in "${missing[@]}"; do
    if ! has_candidate "$pkg"; then
      say "apt-get update (no candidate for $pkg)"
      apt-get update -q
      break
    fi
  done
  say "apt-get install ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Installing openssh-server enables the machine's own sshd: the tests run their own on loopback instead.
  if [[ " ${missing[*]} " == *" openssh-server "* ]]; then systemctl disable --now ssh > /dev/null 2>&1 || true; fi
else
  say "system packages present"
fi

# node_modules is current when its stamp matches the lock file and the Node version (native addons such as
# sd-notify are built for one Node ABI). A tree installed without a stamp is accepted if `npm ls` finds it
# consistent, so an existing checkout is not wiped by `npm ci`.
stamp_file=node_modules/.shipit-setup-stamp
stamp="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
if [[ -f $stamp_file && $(cat "$stamp_file") == "$stamp" ]]; then
  say "node_modules matches package-lock.json"
elif [[ -d node_modules && ! -f $stamp_file ]] && npm ls --all >/dev/null 2>&1 && [[ -d node_modules/sd-notify/build ]]; then
  say "node_modules is consistent with package-lock.json; recording it"
  echo "$stamp" >"$stamp_file"
else
  say "npm ci"
  npm ci --no-audit --no-fund
  echo "$stamp" >"$stamp_file"
fi

say "npm run build"
npm run build
