import { preamble, type Layout } from './layout.js';
import { quote } from './quote.js';
import { FOREIGN_RELEASE_LINE, SHIPIT_UNIT_FIRST_LINE, SYSTEMD_DIR, UNITS_ELSEWHERE_REPORT_LINES } from './scripts.js';

/**
 * `shipit remove`: one script that reads what of the app is on a host and, given the run's lock token, removes it.
 * The reading comes first in both modes and is the same text, so the preview shows exactly what the removal
 * decides on; the removal re-reads it under the lock (nothing decided from a read before the lock is trusted).
 *
 * Lines it prints (parsed by src/host/parse.ts parseRemoval):
 *   dir<TAB>absent|directory|symlink|other     deployTo itself (a symlink is never followed: refused)
 *   entry<TAB><name>                           a top-level entry of deployTo that shipit creates (releases, …)
 *   extra<TAB><name>                           one shipit does not create (someone's data): refused; shared/<name> too
 *   foreign<TAB><unit>                         another app's release is in deployTo (two configs, one deployTo): refused
 *   current<TAB><target>, releases<TAB><n>, lock<TAB><info json>
 *   elsewhere<TAB><dir><TAB><port>             the app's units serve another deployTo in use (another environment): kept
 *   unit<TAB><name><TAB>shipit|other|elsewhere<TAB><ActiveState>   a unit file of the app under /etc/systemd/system
 *   state<TAB>/var/lib/<app>                   the service's state directory: the app's data, kept
 *   user<TAB><name>                            the service user, when it is named after the app (shipit's default): kept
 *   refused                                    (removal) a check above failed, or the lock is not the run's: exit 3
 *   removed                                    (removal) done
 */

/** What shipit creates in deployTo (src/remote/layout.ts); anything else there is not shipit's to delete. */
export const SHIPIT_ENTRIES = ['releases', 'current', 'shared', 'deps', '.shipit', '.current.tmp'] as const;

/** What shipit writes in deployTo/shared (src/remote/scripts.ts: the env files, and their staging directory). */
export const SHIPIT_SHARED = ['env', 'secrets.env', '.next'] as const;

const UNIT_NAME = /^[A-Za-z0-9@._-]+$/;

const READ_LINES = (units: readonly string[]) => [
  'if [ -L "$D" ]; then d=symlink; elif [ -d "$D" ]; then d=directory; elif [ -e "$D" ]; then d=other; else d=absent; fi',
  'printf "dir\\t%s\\n" "$d"',
  'extra=; foreign=',
  'if [ "$d" = directory ]; then',
  '  for e in "$D"/* "$D"/.[!.]* "$D"/..?*; do',
  '    [ -e "$e" ] || [ -L "$e" ] || continue',
  `    case "\${e##*/}" in ${SHIPIT_ENTRIES.join('|')}) printf "entry\\t%s\\n" "\${e##*/}" ;; *) extra=1; printf "extra\\t%s\\n" "\${e##*/}" ;; esac`,
  '  done',
  // shared/ is shipit's too, but only what it writes there: anything else (uploads kept the Capistrano way) is
  // someone's data.
  '  for e in "$D"/shared/* "$D"/shared/.[!.]* "$D"/shared/..?*; do',
  '    [ -e "$e" ] || [ -L "$e" ] || continue',
  `    case "\${e##*/}" in ${SHIPIT_SHARED.join('|')}) ;; *) extra=1; printf "extra\\tshared/%s\\n" "\${e##*/}" ;; esac`,
  '  done',
  // As rollback's inspect reads it (FOREIGN_RELEASE_LINE), the same test as the deploy's prerequisite (src/build/release.ts deployToOwn).
  `  ${FOREIGN_RELEASE_LINE}`,
  '  printf "current\\t%s\\n" "$(readlink "$D/current" 2> /dev/null || true)"',
  '  n=0; for r in "$D"/releases/*; do [ ! -d "$r" ] || n=$((n + 1)); done; printf "releases\\t%s\\n" "$n"',
  '  if [ -d "$S/lock" ]; then printf "lock\\t%s\\n" "$(tr -d "\\n" < "$S/lock/info.json" 2> /dev/null || true)"; fi',
  'fi',
  // The units the config renders, and any other unit of this app a kept release installed (another shipit version's).
  `names=${quote(units.join(' '))}`,
  'for u in "$S"/releases/*/units/"$A".*; do',
  '  [ "$d" = directory ] && [ -e "$u" ] || continue',
  '  n=${u##*/}',
  '  case "$n" in *[!A-Za-z0-9@._-]*) continue ;; esac',
  '  case " $names " in *" $n "*) ;; *) names="$names $n" ;; esac',
  'done',
  // Only a unit file shipit wrote (its first line says so, as the deploy's prerequisite reads it) is ever stopped or
  // removed: an admin's or a package's unit of the same name is left alone.
  // The app's units serving another environment's deployTo (two environments of one app on this host): that
  // environment's, never stopped nor removed by this one's remove.
  ...UNITS_ELSEWHERE_REPORT_LINES,
  'ours=',
  // The service's StateDirectory= (units/partials): the app's own data, kept and named.
  '[ ! -d "/var/lib/$A" ] || printf "state\\t%s\\n" "/var/lib/$A"',
  // The service user shipit creates by default (named after the app; one the config names, like www-data, is
  // someone's): kept, as it may own files elsewhere, and named so that nobody has to know it is left.
  '[ "$U" != "$A" ] || ! getent passwd "$U" > /dev/null 2>&1 || printf "user\\t%s\\n" "$U"',
  'for n in $names; do',
  `  f="${SYSTEMD_DIR}/$n"`,
  '  [ -e "$f" ] || [ -L "$f" ] || continue',
  '  first=; [ -L "$f" ] || { IFS= read -r first < "$f" || :; }',
  `  case "$first" in ${SHIPIT_UNIT_FIRST_LINE}) if [ -n "$elsewhere" ]; then o=elsewhere; else o=shipit; ours="$ours $n"; fi ;; *) o=other ;; esac`,
  '  printf "unit\\t%s\\t%s\\t%s\\n" "$n" "$o" "$(systemctl show -p ActiveState --value "$n" 2> /dev/null || true)"',
  'done',
];

/**
 * Read-only without `token`. With it (the token of the lock this run took), under that lock: refuses (exit 3,
 * `refused`) a deployTo that is not a plain directory, holds entries shipit does not create, holds another app's
 * releases, or whose lock is not this run's; otherwise stops and disables the app's own units, removes their
 * files, reloads systemd, and removes deployTo (its lock with it), never crossing into another filesystem mounted
 * under it. Idempotent: on a host with nothing left it removes the directory the lock created and says so.
 */
export function removalScript(layout: Layout, units: readonly string[], token: string | null = null): string {
  for (const unit of units) if (!UNIT_NAME.test(unit) || !unit.startsWith(`${layout.app}.`)) throw new Error(`invalid unit name ${JSON.stringify(unit)}`);
  if (token !== null && !/^[A-Za-z0-9-]+$/.test(token)) throw new Error('invalid lock token');
  return [
    preamble(layout),
    ...READ_LINES(units),
    ...(token === null
      ? []
      : [
          'info=; IFS= read -r info 2> /dev/null < "$S/lock/info.json" || :',
          `case "$info" in *'"token":"${token}"'*) mine=1 ;; *) mine= ;; esac`,
          '[ "$d" = directory ] && [ -z "$extra" ] && [ -z "$foreign" ] && [ -n "$mine" ] || { echo refused; exit 3; }',
          // Units that cannot be stopped keep their files and the directory (the app may still run from it).
          'if [ -n "$ours" ]; then',
          '  systemctl disable --now --quiet $ours 2> /dev/null || systemctl stop $ours || { echo "could not stop$ours: nothing was removed" >&2; exit 1; }',
          // The enable links too, should disable have failed: none may point at a file that is gone.
          `  for n in $ours; do rm -f "${SYSTEMD_DIR}/$n" "${SYSTEMD_DIR}"/*.wants/"$n"; done`,
          '  systemctl daemon-reload',
          '  systemctl reset-failed $ours 2> /dev/null || true',
          'fi',
          'rm -rf --one-file-system "$D" || { echo "the units are removed, but not all of $D (see above): run it again, or remove what is left by hand" >&2; exit 1; }',
          'echo removed',
        ]),
  ].join('\n');
}
