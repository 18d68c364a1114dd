#!/usr/bin/env bash
# The README's main command (`npm run demo`): on a fresh Debian machine, as root, installs what is needed,
# brings up 3 lab hosts (real systemd + sshd in nspawn containers), deploys examples/fastapi to them with the
# top-level deploy.config.ts, and shows `shipit status production`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
if ! npx tsx lab/cli.ts status --json > /dev/null 2>&1; then
  npm run --silent lab -- up 3
fi
node bin/shipit.js deploy production "$@"
node bin/shipit.js status production
echo
echo "The app answers on every lab host, e.g.: curl http://10.213.37.11:8000/readyz"
echo "Try: node bin/shipit.js rollback production   ·   npm run lab -- down"
