#!/usr/bin/env bash
# The hand-written deploy script the bench compares against: the floor for a tool's overhead. OpenSSH with one
# multiplexed master connection per host (ControlMaster), the artifact tarred and gzipped once and streamed to
# every host in parallel, then one host at a time: switch `current`, restart, poll GET /readyz on the host
# every 200 ms until it answers 200. If a host does not become ready in time, every host it touched goes back
# to the release it ran before (restarted and polled the same way) and the script exits 5.
#
#   openssh-deploy.sh deploy   <release-id>   # upload ARTIFACT as releases/<id>, then roll
#   openssh-deploy.sh activate <release-id>   # roll to a release already on the hosts (a rollback)
#
# Environment: APP PORT HOSTS ("a b c") SSH_USER KEY KNOWN_HOSTS ARTIFACT READY_TIMEOUT (s) PARALLEL (1: restart
# every host at once) KEEP (releases kept).
set -euo pipefail
action=$1 release=$2
: "${APP:?}" "${PORT:?}" "${HOSTS:?}" "${KEY:?}" "${KNOWN_HOSTS:?}"
SSH_USER=${SSH_USER:-deploy} READY_TIMEOUT=${READY_TIMEOUT:-30} PARALLEL=${PARALLEL:-0} KEEP=${KEEP:-5}
D=/srv/$APP

ctl=$(mktemp -d /tmp/openssh-deploy.XXXXXX)
ssh_opts=(-F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS" -o IdentitiesOnly=yes
  -i "$KEY" -o ControlMaster=auto -o "ControlPath=$ctl/%h" -o ControlPersist=yes -o LogLevel=ERROR)
on() { local h=$1; shift; ssh "${ssh_opts[@]}" "$SSH_USER@$h" "$@"; }
cleanup() {
  for h in $HOSTS; do ssh "${ssh_opts[@]}" -O exit "$SSH_USER@$h" 2> /dev/null || true; done
  rm -rf "$ctl"
}
trap cleanup EXIT

# One login per host, all at once; every later command rides on these connections.
for h in $HOSTS; do ssh "${ssh_opts[@]}" -fN "$SSH_USER@$h" & done
wait

declare -A previous
for h in $HOSTS; do previous[$h]=$(on "$h" "readlink $D/current 2> /dev/null || true"); done

if [[ $action == deploy ]]; then
  tar -C "$ARTIFACT" --exclude=__pycache__ -czf "$ctl/release.tgz" .
  pids=()
  for h in $HOSTS; do
    on "$h" "set -e; T=$D/releases/.$release.tmp; rm -rf \$T; mkdir -p \$T; tar -C \$T -xzf -; mv -T \$T $D/releases/$release" < "$ctl/release.tgz" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
fi

# Switch, restart, and wait for readiness on the host itself; exit 7 when the deadline passes.
switch() {
  local h=$1 to=$2
  on "$h" "set -e; ln -sfn $to $D/.current.tmp; mv -fT $D/.current.tmp $D/current; sudo -n systemctl restart $APP.service
    deadline=\$((\$(date +%s) + $READY_TIMEOUT))
    until curl -fso /dev/null --max-time 2 http://127.0.0.1:$PORT/readyz; do
      [ \$(date +%s) -lt \$deadline ] || exit 7; sleep 0.2
    done"
}

touched=()
failed=0
if [[ $PARALLEL == 1 ]]; then
  pids=()
  for h in $HOSTS; do touched+=("$h"); switch "$h" "releases/$release" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
else
  for h in $HOSTS; do
    touched+=("$h")
    if ! switch "$h" "releases/$release"; then failed=1; break; fi
  done
fi

if [[ $failed == 1 ]]; then
  echo "$release did not become ready; reverting ${touched[*]}" >&2
  for h in "${touched[@]}"; do switch "$h" "${previous[$h]}" || echo "$h: revert failed" >&2; done
  exit 5
fi

# Keep the newest KEEP releases (and whatever is current).
for h in $HOSTS; do
  on "$h" "cd $D/releases && ls -1 | grep -v '^\\.' | sort -r | tail -n +$((KEEP + 1)) | grep -vx '$release' | xargs -r rm -rf" &
done
wait
echo "$action of $release done on $HOSTS"
