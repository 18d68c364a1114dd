#!/usr/bin/env bash
# The deploy step of the release job in deploy.yml (copy it to .github/shipit/deploy.sh): writes the deploy key
# and known_hosts from the repository secrets, then runs `shipit deploy`. test/e2e/github-actions.test.ts runs
# this very file, through deploy.yml's steps, against the lab.
#
#   SSH_PRIVATE_KEY      private key authorized for the deploy user on every host (a secret)
#   SSH_KNOWN_HOSTS      known_hosts lines for every host (a secret): strict host key checking, no prompts
#   SHIPIT_SSH_KEY_FILE  where the key goes (default ~/.ssh/id_ed25519: shipit offers it without any config,
#                        whatever the key's type; set ssh.identityFiles in deploy.config if you pick another path)
#
# Runners have no TTY and no stdin; shipit sees CI=true and prints plain timestamped lines.
set -euo pipefail

environment="${1:-production}"
: "${SSH_PRIVATE_KEY:?is empty: add the deploy key as the repository secret SSH_PRIVATE_KEY}"
: "${SSH_KNOWN_HOSTS:?is empty: add the hosts known_hosts lines as the repository secret SSH_KNOWN_HOSTS}"

ssh_dir="$HOME/.ssh"
key_file="${SHIPIT_SSH_KEY_FILE:-$ssh_dir/id_ed25519}"

# Created 0700/0600 from the start (umask), not chmod-ed after: the key is never readable by others, not even
# for a moment. Each file gets exactly one final newline (a key without it does not parse; $(...) drops any
# the secret had), and no \r (a secret pasted from a Windows editor must still parse).
umask 077
mkdir -p "$ssh_dir" "$(dirname "$key_file")"
chmod 700 "$ssh_dir"
clean() { printf '%s\n' "$(printf '%s' "$1" | tr -d '\r')"; }
clean "$SSH_PRIVATE_KEY" > "$key_file"
clean "$SSH_KNOWN_HOSTS" > "$ssh_dir/known_hosts"
chmod 600 "$key_file" "$ssh_dir/known_hosts"

# --no-install: run the project's own shipit (devDependencies), never fetch a package of that name.
exec npx --no-install shipit deploy "$environment"
