import type { JournalQuery, Prerequisite, RenderedFile } from '../host/types.js';
import { APP_REASON } from '../lib/app-reason.js';
import { checkReleaseId, preamble, type Layout } from './layout.js';
import { inline, quote, shellJoin } from './quote.js';

/**
 * Remote steps as shell scripts (commands are data: STYLE.md habit 1). Every script is idempotent, takes
 * secrets only on stdin (never in its text, which may be logged with --verbose), and is tested by exact text.
 */
const script = (layout: Layout, ...lines: string[]) => [preamble(layout), ...lines].join('\n');

export const SYSTEMD_DIR = '/etc/systemd/system';

/** Runs `body` as root: directly for root, else through `sudo -n` (never prompts). */
export function privileged(body: string, sshUser: string): string {
  const argv = ['sh', '-c', body];
  return shellJoin(sshUser === 'root' ? argv : ['sudo', '-n', ...argv]);
}

/** What a warm shell exits with when it is closed unused (stdin ended before a step came). */
export const WARM_SHELL_UNUSED = 75;

/**
 * A warm shell (issue #6): started, as root, before the step it will run is known, so that the SSH session,
 * sudo and the shell (~55 ms on an idle lab host, 100+ on a busy one) are paid off the rollout's critical path.
 * Its stdin brings the step: a line with the script's length in bytes, the script, then the step's own stdin.
 * `read` takes the line byte by byte and `head -c` no more than the script (GNU head reads what it needs), so
 * the step's stdin is intact. The script runs in this shell (eval): its exit status, `set -e` and `exit` are as
 * under `sh -c`, and it stays in the session's process group, which a timeout or abort kills.
 */
export const WARM_SHELL = [
  `IFS= read -r n || exit ${WARM_SHELL_UNUSED}`,
  `case $n in ''|*[!0-9]*) exit ${WARM_SHELL_UNUSED} ;; esac`,
  'eval "$(head -c "$n")"',
].join('\n');

/** The head of a warm shell's stdin for `body`. */
export function warmShellInput(body: string): Buffer {
  const script = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`${script.length}\n`), script]);
}

/**
 * systemctl show lines for the service (ActiveState, SubState, MainPID, NRestarts, ActiveEnterTimestamp), the
 * socket's Listen (the port of the release that runs, which after a revert may not be the config's) and the
 * worker count. One systemctl call for both units (each call costs 15-30 ms on a busy host, and this runs
 * after every restart and in every gate round): the blank line between their blocks tells them apart.
 */
/**
 * The unit's state, its main process's worker count and, with `readCwd` (inspect: status, plan, releases; not the
 * gate's rounds, which only need the state), that process's working directory: WorkingDirectory=<deployTo>/current
 * resolved when it started (a worker's: see below), i.e. the release it runs, which differs from `current` after
 * someone repointed `current` by hand without a restart (one readlink more).
 */
const serviceLines = (readCwd: boolean): string[] => [
  '{ systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts -p ActiveEnterTimestamp -p Listen --timestamp=unix "$A.service" "$A.socket" 2>/dev/null || true; } | awk \'',
  '  /^$/ { b++; next }',
  '  !b || /^Listen=/ { print "svc\\t" $0 }',
  '  !b && /^MainPID=/ { pid = substr($0, 9) + 0 }',
  // Workers = the main process's children, read from /proc in this same process (pgrep only if it cannot).
  '  END {',
  '    if (pid <= 0) exit',
  '    n = 0; f = "/proc/" pid "/task/" pid "/children"',
  '    if ((getline kids < f) > 0) n = split(kids, k, " ")',
  '    else { c = "pgrep -c -P " pid; if ((c | getline n) <= 0) n = 0; close(c) }',
  '    print "svc\\tWorkers=" n',
  // A worker's, when there is one: the node runtime forks each worker in the release `current` resolves to then,
  // so after a `systemctl reload` the workers run the new release while the master stays in the old directory.
  ...(readCwd ? ['    p = (n > 0 && k[1] != "") ? k[1] : pid; c = "readlink /proc/" p "/cwd"; if ((c | getline d) > 0) print "svc\\tCwd=" d; close(c)'] : []),
  "  }'",
];
const SERVICE_LINES = serviceLines(false);

/**
 * Sets sock_active, sock_file (the socket's ActiveState, UnitFileState) and svc_file (the service's
 * UnitFileState), "-" when empty: one systemctl call where is-enabled and is-active took one each (20-40 ms each on
 * a busy host, and hosts restart one by one).
 */
export const UNIT_STATES = [
  `set -- $(systemctl show -p ActiveState -p UnitFileState "$A.socket" "$A.service" 2> /dev/null | awk -F = 'BEGIN { b = 0 } /^$/ { b++; next } { v[b "," $1] = $2 } END { for (i = 0; i < 2; i++) printf "%s %s ", (v[i ",ActiveState"] == "" ? "-" : v[i ",ActiveState"]), (v[i ",UnitFileState"] == "" ? "-" : v[i ",UnitFileState"]) }')`,
  'sock_active=${1:--}; sock_file=${2:--}; svc_file=${4:--}',
];

export function serviceScript(layout: Layout): string {
  return script(layout, ...SERVICE_LINES);
}

/** The metas of releases whose files exist, one `release` line each, read by one awk. */
const RELEASE_LINES = [
  'set --',
  'for m in "$S"/releases/*/meta.json; do',
  '  r=${m%/meta.json}; r=${r##*/}',
  '  [ -f "$m" ] && [ -d "$D/releases/$r" ] && set -- "$@" "$m"',
  'done',
  `[ $# = 0 ] || awk 'FNR == 1 { if (NR > 1) print ""; printf "release\\t" } { printf "%s", $0 } END { if (NR > 0) print "" }' "$@"`,
];

/**
 * Another app's release in deployTo (two configs given one deployTo): a `foreign<TAB><its service unit>` line, and
 * `foreign=1`. Read by rollback (INSPECT_LINES, before its lock) and remove (remove-scripts.ts).
 */
export const FOREIGN_RELEASE_LINE =
  'for u in "$S"/releases/*/units/*.service; do [ -e "$u" ] && [ "${u##*/}" != "$A.service" ] || continue; foreign=1; printf "foreign\\t%s\\n" "${u##*/}"; break; done';

/**
 * A shell `case` pattern for the first line of a unit file shipit wrote (units/*.tmpl: `# <unit>, rendered by
 * shipit from units/…`): an admin's or a package's unit of the same name is never replaced, stopped or removed.
 */
export const SHIPIT_UNIT_FIRST_LINE = '*", rendered by shipit from "*';

/**
 * Units are named after `app` alone, so two environments of one app on a host (staging in /srv/shop-staging,
 * production in /srv/shop) would share `<app>.service` and `<app>.socket`: each deploy rewrote the other's units
 * (the service switched between deployTos) and removing one stopped the other. The unit shipit rendered records
 * whose it is (`WorkingDirectory=<deployTo>/current`, units/*.tmpl). Sets `elsewhere` to that other deployTo and
 * `elsewhere_port` to its socket's port (ListenStream='s, without the address) when the installed `<app>.service` is shipit's, serves another
 * deployTo, and that directory still holds a release (so it is in use; one whose releases are all gone, e.g. an
 * old deployTo the app moved away from, is free). Read by the shell alone: no process. Read by the deploy's
 * prerequisite (src/build/release.ts unitsOwn), and, through UNITS_ELSEWHERE_REPORT_LINES, by inspect (rollback
 * refuses before its lock; status says so) and remove (which leaves such units alone). What is said about them:
 * src/host/units-elsewhere.ts.
 */
export const UNITS_ELSEWHERE_LINES = [
  `elsewhere=; elsewhere_port=; f="${SYSTEMD_DIR}/$A.service"; w=`,
  `if [ -f "$f" ] && [ ! -L "$f" ]; then { first=; IFS= read -r first || :; case "$first" in ${SHIPIT_UNIT_FIRST_LINE}) while IFS= read -r l; do case "$l" in WorkingDirectory=*/current) w=\${l#WorkingDirectory=}; w=\${w%/current}; break ;; esac; done ;; esac; } < "$f"; fi`,
  // Another deployTo only when it is another directory: `-ef` (same device and inode; dash, bash and busybox test
  // have it) knows /srv/shop in a unit an older shipit wrote as /srv//shop or through a symlink; the string
  // compare decides when either does not exist.
  'if [ -n "$w" ] && [ "$w" != "$D" ] && ! [ "$w" -ef "$D" ]; then for r in "$w"/releases/*; do [ -d "$r" ] || continue; elsewhere=$w; break; done; fi',
  `if [ -n "$elsewhere" ] && [ -f "${SYSTEMD_DIR}/$A.socket" ]; then while IFS= read -r l; do case "$l" in ListenStream=*) elsewhere_port=\${l#ListenStream=}; elsewhere_port=\${elsewhere_port##*:}; break ;; esac; done < "${SYSTEMD_DIR}/$A.socket"; fi`,
];

/**
 * UNITS_ELSEWHERE_LINES, then what they found as a tagged line, `elsewhere<TAB><deployTo><TAB><port>` (none when the
 * units are this deployTo's or nobody's; host/parse.ts parseElsewhere): how inspect and remove report it.
 */
export const UNITS_ELSEWHERE_REPORT_LINES = [...UNITS_ELSEWHERE_LINES, '[ -z "$elsewhere" ] || printf "elsewhere\\t%s\\t%s\\n" "$elsewhere" "$elsewhere_port"'];

/** What `current` points at, the lock, every release's meta, and the service: tagged lines (parse.ts). */
const INSPECT_LINES = [
  'printf "current\\t%s\\n" "$(readlink "$D/current" 2>/dev/null || true)"',
  'if [ -d "$S/lock" ]; then printf "lock\\t%s\\n" "$(tr -d "\\n" < "$S/lock/info.json" 2>/dev/null || true)"; fi',
  ...RELEASE_LINES,
  // Another app's release here (two configs with one deployTo): its service unit, for rollback to refuse before the lock.
  FOREIGN_RELEASE_LINE,
  // This app's units serving another deployTo (another environment of the app on this host).
  ...UNITS_ELSEWHERE_REPORT_LINES,
  ...serviceLines(true),
];

/**
 * Sets cur (the release `current` points at, or empty) and sum (the sha256 of its manifest, or empty when its
 * files or its manifest are missing): what the lock reports, the check names as the base, and a stage with
 * `checks` verifies.
 */
const CURRENT_MANIFEST = [
  'cur=$(readlink "$D/current" 2>/dev/null || true); cur=${cur##*/}; sum=',
  'if [ -n "$cur" ] && [ -d "$D/releases/$cur" ] && [ -f "$S/releases/$cur/manifest.tsv" ]; then sum=$(sha256sum < "$S/releases/$cur/manifest.tsv"); sum=${sum%% *}; fi',
];

export function inspectScript(layout: Layout): string {
  return script(layout, ...INSPECT_LINES);
}

/**
 * Lock info arrives on stdin; prints `acquired` followed by the host's releases (the next thing every locked
 * command needs, one round trip saved), or `held` and the holder's info. Not the service's state (no locked
 * command reads it, and systemctl show is most of inspect's host CPU), nor the lock: it is the one on stdin.
 *
 * With `then`, the lock info is the first `infoBytes` of stdin and, once the lock is taken, the same command
 * stages release `then.id` (stageScript, with its `checks`: nothing is written unless the host's current
 * release is the one the deployer assumed) from the rest of stdin: one SSH exec, sudo and shell less per host
 * on every deploy whose base the deployer guessed right. Only under a lock this very command took: a held lock
 * drains stdin and stages nothing. Prints `staging` before the stage's own lines, or `exists` (and stops) when
 * the release's name is taken on the host, which the ordinary path then handles.
 */
export function lockScript(layout: Layout, then?: { id: string; plan: StagePlan & { checks: NonNullable<StagePlan['checks']> }; infoBytes: number }): string {
  const read = then ? `head -c ${byteCount(then.infoBytes)}` : 'cat';
  return script(
    layout,
    // First contact: a deployTo made here is noted (CREATED_DIR), so that a first deploy that fails removes it
    // again (UNDO_FIRST_CONTACT_AFTER); one the admin made stays.
    `[ -d "$S" ] || if [ -d "$D" ]; then mkdir "$S"; else mkdir -p "$S"; : > "$S/${CREATED_DIR}"; fi`,
    // Made again when it is gone: a failed first deploy's unlock may have removed $S since the line above.
    `if mkdir "$S/lock" 2>/dev/null || { [ ! -d "$S" ] && mkdir -p "$S" && mkdir "$S/lock" 2>/dev/null; }; then ${read} > "$S/lock/info.json"; echo acquired`,
    'else cat > /dev/null; echo held; cat "$S/lock/info.json" 2>/dev/null || true; exit 0; fi',
    ...CURRENT_MANIFEST,
    'printf "current\\t%s\\n" "$cur"',
    ...RELEASE_LINES,
    // The sha256 of the current release's manifest: a deployer that has that manifest can stage the next
    // release without asking for it (stageScript's `checks`).
    '[ -z "$sum" ] || printf "manifest\\t%s\\n" "$sum"',
    ...(then
      ? [
          `if [ -e "$D/releases/${checkReleaseId(then.id)}" ] || [ -e "$S/releases/${then.id}" ]; then echo exists; exit 0; fi`,
          'echo staging',
          // cur and sum were set just above, under this lock.
          ...stageLines(then.id, then.plan, false),
        ]
      : []),
  );
}

/**
 * The lock's info (one line of JSON, written without a newline) into $info, empty when there is none: by the
 * shell's `read`, which returns non-zero at such an end but sets the variable; a `$(cat …)` forks twice.
 */
const READ_LOCK_INFO = 'info=; IFS= read -r info 2> /dev/null < "$S/lock/info.json" || :';

/** Exit 3 with the holder's info when `token` does not hold the lock (and no force). */
export function unlockScript(layout: Layout, token: string, force: boolean): string {
  if (!/^[A-Za-z0-9-]+$/.test(token)) throw new Error('invalid lock token');
  return script(
    layout,
    '[ -d "$S/lock" ] || exit 0',
    READ_LOCK_INFO,
    `case "$info" in *'"token":"${token}"'*) ;; *) ${force ? ':' : 'printf %s "$info"; exit 3'} ;; esac`,
    // Not when forcing someone else's lock open: their run may be a first deploy still under way elsewhere.
    ...(force ? ['rm -rf "$S/lock"'] : [...UNDO_FIRST_CONTACT_LOCKED, 'rm -rf "$S/lock"', ...UNDO_FIRST_CONTACT_AFTER]),
    'printf %s "$info"',
  );
}

/** Markers in `$S` of what shipit's first contact with a host created: deployTo itself, and the service user. */
const CREATED_DIR = 'created-deploy-to';
const CREATED_USER = 'created-user';

/**
 * When the lock is released on a host that holds no release of the app (no `current`, nothing under releases/),
 * this run was its first contact and failed (prepare failed somewhere and what it staged was discarded, the lock
 * was held on another host, Ctrl-C): what it created goes, so the host is as it was found. Only directories that
 * are empty (rmdir), the service user when shipit added it for this app, and deployTo when shipit made it. The
 * audit log (history.jsonl) and anything not shipit's keep their directories. A first deploy whose release was
 * activated and failed its gate keeps that release, marked bad, for inspection: it is not undone here.
 *
 * In two parts. While the lock is still ours (no other run of the app can be staging or starting its service):
 * the empty directories, and the user, only where the marker the stage wrote (CREATED_USER) names this very user,
 * and only once: the marker goes whatever userdel says (it refuses while a process runs as the user: that one is
 * then someone's, and stays), and every record of a release removes it (recordScript), so a user that ever ran a
 * release is never deleted by a later run. After the lock is gone, the directories it lived in.
 */
const UNDO_FIRST_CONTACT_LOCKED = [
  'first=',
  'if [ ! -e "$D/current" ] && [ ! -L "$D/current" ] && [ -z "$(find "$D/releases" "$S/releases" -mindepth 1 -maxdepth 1 2> /dev/null | head -n 1)" ]; then',
  '  first=1',
  '  rmdir "$D/shared/.next" "$D/shared" "$D/releases" "$S/releases" "$D/deps/python" "$D/deps/node" "$D/deps" 2> /dev/null || :',
  `  if [ -f "$S/${CREATED_USER}" ]; then made=; IFS= read -r made < "$S/${CREATED_USER}" || :; if [ "$made" = "$U" ]; then userdel "$U" 2> /dev/null || :; fi; rm -f "$S/${CREATED_USER}"; fi`,
  'fi',
];
const UNDO_FIRST_CONTACT_AFTER = [
  `if [ -n "$first" ]; then if [ -f "$S/${CREATED_DIR}" ]; then rm -f "$S/${CREATED_DIR}"; rmdir "$S" 2> /dev/null && rmdir "$D" 2> /dev/null || :; else rmdir "$S" 2> /dev/null || :; fi; fi`,
];

/** The base release's manifest as the deployer knows it (from its cache), so that the host need not send it. */
export interface KnownManifest {
  release: string;
  sha256: string;
}

/**
 * Checks prerequisites and disk, reports whether the release is already staged, and names the base (the
 * current release, whose unchanged files are linked instead of sent) with the sha256 of its manifest. The
 * manifest itself follows, gzipped and base64 on one line, unless it is one of those the deployer `known`s.
 * Exit 3 = prerequisite missing, with `prereq:` lines saying which.
 */
export function checkScript(layout: Layout, id: string, prerequisites: Prerequisite[], diskKiB: number, known: readonly KnownManifest[] = []): string {
  checkReleaseId(id);
  const knownCases = known.map((k) => {
    if (!/^[0-9a-f]{64}$/.test(k.sha256)) throw new Error(`invalid manifest checksum ${JSON.stringify(k.sha256)}`);
    return quote(`${checkReleaseId(k.release)} ${k.sha256}`);
  });
  return script(
    layout,
    ...prerequisiteLines(prerequisites, diskKiB),
    `if [ -d "$D/releases/${id}" ] && [ -f "$S/releases/${id}/meta.json" ]; then echo staged; fi`,
    ...CURRENT_MANIFEST,
    'if [ -n "$sum" ]; then',
    '  echo "base $cur $sum"',
    `  case "$cur $sum" in ${knownCases.length > 0 ? knownCases.join('|') : "''"}) ;; *) gzip -c < "$S/releases/$cur/manifest.tsv" | base64 -w0; echo ;; esac`,
    'fi',
  );
}

/** Where a prerequisite's message (Prerequisite.messages) takes the check's output. */
export const PREREQ_OUT = '{out}';

/** The line a failed Prerequisite.conflict adds after its `prereq:` line. */
export const PREREQ_CONFLICT = 'prereq-conflict';

/** Prerequisites and free disk (and inodes, when the stage knows how many it creates): exit 3 with a `prereq:` line for each one missing. */
function prerequisiteLines(prerequisites: Prerequisite[], diskKiB: number, inodes?: number): string[] {
  if (!Number.isSafeInteger(diskKiB) || diskKiB < 0) throw new Error(`invalid disk size ${diskKiB}`);
  return [
    'fail=0',
    'command -v systemctl > /dev/null 2>&1 && [ -d /run/systemd/system ] || { echo "prereq: systemd must be running as init (systemctl not usable)"; fail=1; }',
    ...prerequisites.map((p) => {
      // A conflict (Prerequisite.conflict) says so on a line of its own, for the deployer's exit code; not the
      // check's unforeseen failures (the `*)` case), which are not known to be one.
      const conflict = p.conflict ? `; echo ${PREREQ_CONFLICT}` : '';
      const report = (message: string, marked = false) => `printf "prereq: %s\\n" ${quote(message)}${marked ? conflict : ''}`;
      const codes = Object.entries(p.messages ?? {});
      if (codes.length === 0) return `if ! ( ${p.check} ) > /dev/null 2>&1; then ${report(p.message, true)}; fail=1; fi`;
      // A message with PREREQ_OUT in it has the check's output there (one line: e.g. which unit holds a port).
      const named = codes.some(([, message]) => message.includes(PREREQ_OUT));
      const say = (message: string) => {
        if (!message.includes(PREREQ_OUT)) return report(message, true);
        const parts = message.split(PREREQ_OUT);
        return `printf "prereq: ${'%s'.repeat(2 * parts.length - 1)}\\n" ${parts.map(quote).join(' "$out" ')}${conflict}`;
      };
      const cases = [...codes.map(([code, message]) => `${Number(code)}) ${say(message)} ;;`), `*) ${report(p.message)} ;;`].join(' ');
      const run = named ? `out=$( ( ${p.check} ) 2> /dev/null ) || r=$?` : `( ${p.check} ) > /dev/null 2>&1 || r=$?`;
      return `r=0; ${run}; if [ "$r" != 0 ]; then case "$r" in ${cases} esac; fail=1; fi`;
    }),
    'p="$D"; while [ ! -d "$p" ]; do p=$(dirname "$p"); done',
    // Free KiB for an unprivileged writer, from statfs(2): one process (df | awk took four times the CPU here).
    'set -- $(stat -f -c "%a %S %d %c" "$p"); avail=$(( ${1:-0} * ${2:-0} / 1024 ))',
    `if [ "\${avail:-0}" -lt ${diskKiB} ]; then echo "prereq: only \${avail} KiB free under $p, the release needs ${diskKiB} KiB"; fail=1; fi`,
    ...(inodes === undefined ? [] : [inodeCheck(inodes)]),
    '[ "$fail" = 0 ] || exit 3',
  ];
}

/**
 * Free inodes ($3 of `stat -f -c "%a %S %d %c"`, total $4): a filesystem with space but none left fails the
 * unpack midway ("Cannot open: No space left on device"). A total of 0 means the filesystem has no fixed
 * count (btrfs allocates them as it goes): never refused.
 */
function inodeCheck(inodes: number): string {
  if (!Number.isSafeInteger(inodes) || inodes < 0) throw new Error(`invalid inode count ${inodes}`);
  return `if [ "\${4:-0}" != 0 ] && [ "\${3:-0}" -lt ${inodes} ]; then echo "prereq: only \${3:-0} inodes free under $p, the release needs ${inodes}"; fail=1; fi`;
}

/** The inode check alone, for a stage whose prerequisites were checked by checkScript (which knew no delta). */
const inodeLines = (inodes: number) => [
  'fail=0',
  'p="$D"; while [ ! -d "$p" ]; do p=$(dirname "$p"); done',
  'set -- $(stat -f -c "%a %S %d %c" "$p")',
  inodeCheck(inodes),
  '[ "$fail" = 0 ] || exit 3',
];

/** How one stage command reads its stdin: these parts, byte counts in this order, then the gzipped tar. */
export interface StagePlan {
  /** The plain env file (not secret: inline in the script). Stdin starts with secretsInput(secrets). */
  env: string;
  /** The release whose unchanged files are linked, or null (everything is sent). */
  base: string | null;
  /** Bytes of the paths of `base` NOT reused (newline-separated), next on stdin. */
  dropBytes: number;
  /** Bytes of the manifest lines of the files sent, next on stdin; a gzipped tar of those files follows. */
  sentBytes: number;
  sentFiles: number;
  /** Meta and units: when given, the release is also finalized (no dependency set to link in between). */
  finalize: { metaJson: string; units: RenderedFile[] } | null;
  /**
   * The prerequisite check, run first, when the deployer skipped checkScript because it already knows the
   * host's current release (from the lock) and has its manifest: exit 3 as checkScript, and exit 5, before
   * reading stdin, when `current` is not what the deployer assumed (it then checks and stages again).
   */
  checks?: { prerequisites: Prerequisite[]; diskKiB: number; current: { release: string; manifest: string } | null };
  /**
   * The inodes the stage creates: every file sent, every directory (links are made in new directories), the
   * release's own files under .shipit. Files hard-linked from the base need none. Checked first (exit 3).
   */
  inodes?: number;
}

/**
 * The head of a stage's stdin: a line with the byte count of secrets.env, then secrets.env. The count travels on
 * stdin, never in the script, whose text `shipit plan`, --dry-run, --json and --verbose show and CI logs keep: a
 * `head -c 37` there would give away the secrets' length (one secret's exactly, the config saying its name).
 */
export function secretsInput(secrets: string): string {
  return `${Buffer.byteLength(secrets)}\n${secrets}`;
}

/** Reads what secretsInput wrote: the count line, then (READ_SECRETS) that many bytes. */
const READ_SECRETS_LENGTH = [
  'IFS= read -r secrets_bytes',
  `case $secrets_bytes in ''|*[!0-9]*) echo "stdin does not start with the length of secrets.env" >&2; exit 1 ;; esac`,
];
const READ_SECRETS = 'head -c "$secrets_bytes"';

/** Exit code of a stage whose `checks.current` did not hold. */
export const STAGE_BASE_CHANGED = 5;

/**
 * The service's system user, then the layout's directories and `dirs` (one mkdir: every process costs a few ms
 * of a small host's CPU): the first thing prepare writes. `clear` (quoted paths) is removed just before, by an
 * `rm` only when one of them is there (a leftover of a stage that died: rarely).
 */
const ensureUserAndDirs = (clear: string[], ...dirs: string[]) => [
  // Noted, with its name (CREATED_USER): a first deploy that fails removes the user it added (UNDO_FIRST_CONTACT_LOCKED).
  `id -u "$U" > /dev/null 2>&1 || { useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$U" && printf '%s\\n' "$U" > "$S/${CREATED_USER}"; }`,
  `${clear.map((c) => `[ ! -e ${c} ]`).join(' && ')} || rm -rf ${clear.join(' ')}`,
  `mkdir -p "$D/releases" "$D/shared/.next" "$S/releases"${dirs.map((d) => ` ${d}`).join('')}`,
];

/**
 * A release's env (inline, 0640, group the service's) and secrets (0600, the service user's, from what
 * `readSecrets` writes to stdout) into its directory under .shipit/releases (`dir`, quoted): versioned with the
 * release, like its units, and put in shared/ only when the release is activated (envInstallLines), so that a
 * deploy that fails leaves every host with the env of the release it runs, and a revert or rollback brings back
 * the env that release ran with. Each file is created afresh (removed first: `>` keeps an existing file's mode),
 * unless `dir` was made empty just before (`fresh`). `envOwnerLater`: the env file's chown is left to the caller,
 * which gives it in the one `chown` it runs anyway (finalizeLines).
 */
const writeEnvFiles = (dir: string, env: string, readSecrets: string, fresh = false, envOwnerLater = false) => [
  ...(fresh ? [] : [`rm -f ${dir}/env ${dir}/secrets.env`]),
  'umask 027',
  `${inline(env)} > ${dir}/env`,
  'umask 077',
  `${readSecrets} > ${dir}/secrets.env`,
  'umask 022',
  ...(envOwnerLater ? [] : [`chown "root:$U" ${dir}/env`]),
  `chown "$U:$U" ${dir}/secrets.env`,
];

/**
 * Upgrading from a shipit that wrote shared/ at prepare: the current release has no env of its own yet, and what
 * it runs with is shared/'s. Kept with it, so that a revert to it restores that env. Needs $cur (CURRENT_MANIFEST).
 */
const KEEP_CURRENT_ENV = [
  'if [ -n "$cur" ] && [ -d "$S/releases/$cur" ] && [ ! -e "$S/releases/$cur/env" ] && [ -f "$D/shared/env" ]; then',
  '  cp -p "$D/shared/env" "$D/shared/secrets.env" "$S/releases/$cur/" 2> /dev/null || cp -p "$D/shared/env" "$S/releases/$cur/"',
  'fi',
];

/**
 * Activation: the release's env and secrets into shared/ (EnvironmentFile= of the unit), each renamed over the
 * old one. Releases staged by a shipit that wrote shared/ at prepare have none: shared/ is left as it is.
 */
const envInstallLines = (id: string) => [
  `E="$S/releases/${id}"`,
  'if [ -f "$E/env" ]; then',
  '  [ -d "$D/shared/.next" ] || mkdir -p "$D/shared/.next"',
  // Both files in one cp and one mv; a release kept from an older shipit may have saved only env (KEEP_CURRENT_ENV).
  '  if [ -f "$E/secrets.env" ]; then cp -p "$E/env" "$E/secrets.env" "$D/shared/.next/"; mv -f "$D/shared/.next/env" "$D/shared/.next/secrets.env" "$D/shared/"',
  '  else cp -p "$E/env" "$D/shared/.next/"; mv -f "$D/shared/.next/env" "$D/shared/"; fi',
  'fi',
];

/** activateScript's env lines alone (for tests: the rest of an activation needs systemd). */
export function installEnvScript(layout: Layout, id: string): string {
  checkReleaseId(id);
  return script(layout, 'set -e', ...envInstallLines(id));
}

/**
 * Creates the service user and directories, then writes release `id`'s env inline (not secret) and its secrets
 * from stdin, 0600 and owned by the service user (a release staged already: its env as configured now).
 */
export function releaseEnvScript(layout: Layout, id: string, env: string): string {
  checkReleaseId(id);
  return script(layout, 'set -e', ...ensureUserAndDirs(['"$D/shared/.next"'], `"$S/releases/${id}"`), ...writeEnvFiles(`"$S/releases/${id}"`, env, 'cat'));
}

/**
 * Stages a release in one command, from one stdin (StagePlan): the shared env and secrets; the files of the
 * base release that did not change, hard-linked (releases are never modified in place, like rsync
 * --link-dest; copied where links cannot be made); the new and changed files from the gzipped tar; the sha256
 * of every file sent checked (linked ones were checked when their release was staged); the release's
 * manifest composed from the base's kept lines and the sent lines, its sha256 printed (`manifest\t<sha>`) for
 * the deployer to compare with its own. With `finalize`, the release then becomes visible (finalizeScript).
 */
export function stageScript(layout: Layout, id: string, plan: StagePlan): string {
  return script(layout, ...stageLines(id, plan, true));
}

const byteCount = (n: number) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`invalid byte count ${n}`);
  return n;
};

/** stageScript's lines; `readCurrent` false when cur and sum are set already (lockScript). */
function stageLines(id: string, plan: StagePlan, readCurrent: boolean): string[] {
  checkReleaseId(id);
  const base = plan.base === null ? null : checkReleaseId(plan.base);
  return [
    ...(plan.checks ? stageChecks(plan.checks, readCurrent, plan.inodes) : plan.inodes === undefined ? [] : inodeLines(plan.inodes)),
    'set -e',
    `T="$D/releases/.${id}.tmp"; M="$S/releases/${id}"`,
    ...ensureUserAndDirs(['"$T"', '"$M.tmp"'], '"$T"', '"$M.tmp/units"'),
    ...READ_SECRETS_LENGTH,
    ...writeEnvFiles('"$M.tmp"', plan.env, READ_SECRETS, true, plan.finalize !== null),
    ...(readCurrent && !plan.checks ? ['cur=$(readlink "$D/current" 2>/dev/null || true); cur=${cur##*/}'] : []),
    ...KEEP_CURRENT_ENV,
    `head -c ${byteCount(plan.dropBytes)} > "$M.tmp/drop"`,
    `head -c ${byteCount(plan.sentBytes)} > "$M.tmp/sent.tsv"`,
    // One awk writes the manifest (the base's lines not dropped, then the sent ones), the paths to link and the
    // sha256sum -c list of the files sent: where cut, cat and a second awk ran (each a process, ~2 ms of a host's CPU).
    `awk -F "\\t" -v keep="$M.tmp/keep" -v check="$M.tmp/check" 'FILENAME == ARGV[1] { drop[$0] = 1; next } FILENAME == ARGV[2] { if (!($1 in drop)) { print; print $1 > keep } next } { print; print $3 "  " $1 > check }' "$M.tmp/drop" ${base === null ? '/dev/null' : `"$S/releases/${base}/manifest.tsv"`} "$M.tmp/sent.tsv" > "$M.tmp/manifest.tsv"`,
    ...(base === null
      ? []
      : [
          `B="$D/releases/${base}"`,
          // Linked files share owner and mode with the base: only when the base belongs to the same service group.
          'if [ ! -s "$M.tmp/keep" ]; then :',
          'elif [ "$(stat -c %G "$B")" != "$U" ] || ! (cd "$B" && xargs -r -d "\\n" cp -l --parents -t "$T" --) < "$M.tmp/keep" 2> /dev/null; then',
          '  rm -rf "$T"; mkdir -p "$T"',
          '  tr "\\n" "\\0" < "$M.tmp/keep" | (cd "$B" && tar --null --no-recursion -T - -cf -) | tar -C "$T" -xpf -',
          'fi',
        ]),
    ...(plan.sentFiles > 0 ? ['tar -C "$T" --no-same-owner --ignore-zeros -xzpf -'] : []),
    `if [ -s "$M.tmp/check" ] && ! (cd "$T" && sha256sum --quiet --strict -c - >&2) < "$M.tmp/check"; then echo "checksum mismatch in the staged release" >&2; exit 4; fi`,
    'rm -f "$M.tmp/drop" "$M.tmp/sent.tsv" "$M.tmp/keep" "$M.tmp/check"',
    'sum=$(sha256sum < "$M.tmp/manifest.tsv"); printf "manifest\\t%s\\n" "${sum%% *}"',
    ...(plan.finalize === null ? [] : finalizeLines(id, plan.finalize.metaJson, plan.finalize.units, '"$M.tmp/env"')),
  ];
}

function stageChecks(checks: NonNullable<StagePlan['checks']>, readCurrent: boolean, inodes?: number): string[] {
  const changed = `{ echo "base changed"; exit ${STAGE_BASE_CHANGED}; }`;
  const { current } = checks;
  if (current !== null && !/^[0-9a-f]{64}$/.test(current.manifest)) throw new Error(`invalid manifest checksum ${JSON.stringify(current.manifest)}`);
  return [
    ...prerequisiteLines(checks.prerequisites, checks.diskKiB, inodes),
    ...(readCurrent ? CURRENT_MANIFEST : []),
    current === null ? `[ -z "$cur" ] || ${changed}` : `[ "$cur" = ${quote(checkReleaseId(current.release))} ] && [ "$sum" = ${current.manifest} ] || ${changed}`,
  ];
}

/**
 * Makes a staged release visible: gives the service group read access, records meta and units, then renames
 * both directories into place (a release is visible only once complete).
 */
export function finalizeScript(layout: Layout, id: string, metaJson: string, units: RenderedFile[]): string {
  checkReleaseId(id);
  return script(layout, 'set -e', `T="$D/releases/.${id}.tmp"; M="$S/releases/${id}"`, ...finalizeLines(id, metaJson, units));
}

/** `alsoOwned`: a file (quoted) that gets the release's owner in the same chown (the env, from the same stage). */
const finalizeLines = (id: string, metaJson: string, units: RenderedFile[], alsoOwned?: string) => [
  `chown -R "root:$U" "$T"${alsoOwned ? ` ${alsoOwned}` : ''}`,
  // Readable by root and the service's group only: nobody else on the host reads an app's code or its data.
  'chmod -R g+rX,g-w,o-rwx "$T"',
  `${inline(metaJson)} > "$M.tmp/meta.json"`,
  ...units.map((u) => `${inline(u.content)} > "$M.tmp/units/${unitName(u.name)}"`),
  // Renamed into place; only when the name is taken (the release was staged before, or is current) the old
  // one is replaced, unless it is current, whose files are never touched (`mv -T` fails on a non-empty directory).
  `mv -T "$T" "$D/releases/${id}" 2> /dev/null || if [ "$(readlink "$D/current" 2>/dev/null || true)" != "releases/${id}" ]; then rm -rf "$D/releases/${id}"; mv "$T" "$D/releases/${id}"; else rm -rf "$T"; fi`,
  'mv -T "$M.tmp" "$M" 2> /dev/null || { rm -rf "$M"; mv "$M.tmp" "$M"; }',
];

/** Removes a staged release that never went live. */
export function discardScript(layout: Layout, id: string): string {
  checkReleaseId(id);
  return script(
    layout,
    `rm -rf "$D/releases/.${id}.tmp" "$S/releases/${id}.tmp"`,
    `if [ "$(readlink "$D/current" 2>/dev/null || true)" != "releases/${id}" ]; then rm -rf "$D/releases/${id}" "$S/releases/${id}"; fi`,
  );
}

/**
 * `why <unit>`: on a failed start, systemd's own words about the unit since the activation began ($t0; e.g.
 * "Address already in use", "Main process exited, code=exited, status=4"), the last two that say something, then
 * the app's own reason: its last 3 lines that name an error (lib/app-reason.ts, as the gate picks them),
 * else its last 3, each cut at APP_REASON.hostChars (4 KiB): the deployer redacts the config's secrets, then cuts
 * to what it shows (400 characters; cutAppLine). Cut here at 400, a secret straddling character 400 had its first
 * part printed: redaction matches whole values only. Exits 1.
 */
const { hostChars: C, lines: N } = APP_REASON;
export const WHY_FUNCTION = [
  'why() {',
  // An exit status's LSB name (2-7: status=4/NOPERMISSION) means nothing for an app (gunicorn and shipit's runtime
  // exit 4 when the app cannot be loaded): dropped; systemd's own (status=219/CGROUP) and a signal's (9/KILL) stay.
  '  journalctl -q -o cat --no-pager --since "@$t0" _PID=1 UNIT="$1" 2> /dev/null | grep -v -e "Failed to kill control group" -e "Failed with result" -e "Consumed .* CPU time" | sed \'/code=exited/ s|\\(status=[2-7]\\)/[A-Z][A-Z]*|\\1|\' | tail -n 2 >&2',
  `  journalctl -q -o cat --no-pager --since "@$t0" _SYSTEMD_UNIT="$1" 2> /dev/null | awk '{ if (length($0) > ${C}) $0 = substr($0, 1, ${C}) "..."; a[++k] = $0 } !/${APP_REASON.quiet.source}/ && /${APP_REASON.pattern.source}/ { m[++n] = $0 } END { if (n) for (i = (n > ${N} ? n - ${N - 1} : 1); i <= n; i++) print "app: " m[i]; else for (i = (k > ${N} ? k - ${N - 1} : 1); i <= k; i++) print "app: " a[i] }' >&2`,
  '  exit 1',
  '}',
];

/**
 * The restart, tried a second time only when systemd itself could not start the process in the unit's cgroup
 * (exit status 219, CGROUP: "Failed to attach to cgroup", a race in systemd when a start follows a stop within
 * milliseconds; systemd/systemd#23164). Seen once on a lab host (web3, 2026-12-04, a stop of 40 ms, the start 8 ms
 * later): the release was fine but was reverted and marked bad. Any other failure is the release's, reported by why.
 *
 * Bounded on the host by `limitSeconds` (restartLimitSeconds): `systemctl restart` of a Type=notify unit waits
 * until the service sends READY=1 (or TimeoutStartSec, healthyDeadline + 30 s), so a release whose start hangs (a
 * node app's ready() that never resolves, a worker that never listens) used to be cut off by the deployer's own
 * timeout, which killed the command and reported "Command timed out after 20000 ms on web1: sudo -n sh -c …",
 * naming neither the unit, nor the deadline, nor the app's last words. timeout(1) exits 124 when it stopped it;
 * systemd's start job goes on (a revert's restart replaces it). The sentence comes after why's lines (run in a
 * subshell, as why exits) because the deployer shows a failed step's last 5 lines.
 */
export function restartService(limitSeconds: string): string {
  return [
    `restart_svc() { timeout ${limitSeconds} systemctl restart "$A.service" || { [ $? != 124 ] || { (why "$A.service"); echo "$A.service did not finish restarting within ${limitSeconds} s (health.healthyDeadline, less the activation's own steps): systemd was still stopping the old process or waiting for the new one to report ready (READY=1); its last lines above say where. Raise health.healthyDeadline if it legitimately needs longer" >&2; exit 1; }; return 1; }; }`,
    'restart_svc || { [ "$(systemctl show -p ExecMainStatus --value "$A.service" 2> /dev/null)" = 219 ] && echo "$A.service: systemd could not attach the process to its cgroup (status 219); starting it again" >&2 && restart_svc; } || why "$A.service"',
  ].join('\n');
}

/**
 * The restart's bound from the activation's time limit (health.healthyDeadline): the limit less what the rest of
 * the activation may take on a busy host (daemon-reload and enable before, the state or why's journal read after),
 * a quarter of it and at most 5 s, so that the host reports a hung start before the deployer kills the command.
 * In seconds with one decimal, as timeout(1) takes them.
 */
export function restartLimitSeconds(timeoutMs: number): string {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`invalid restart time limit ${timeoutMs}`);
  return tenthsOfSeconds(lessStepMargin(timeoutMs));
}

/**
 * A limit less the margin the step around it keeps for its own work: a quarter of it, at most 5 s. The restart's
 * limit is the activation's less it (restartLimitSeconds), the node runtime's boot timeout the restart's less it
 * again (src/units/render.ts nodeBootTimeoutSeconds), so each inner limit runs out first and says why.
 */
export function lessStepMargin(ms: number): number {
  return ms - Math.min(5_000, ms / 4);
}

/** Milliseconds as seconds with one decimal, rounded down, as timeout(1) and the runtime's env take them. */
export function tenthsOfSeconds(ms: number): string {
  return (Math.floor(ms / 100) / 10).toFixed(1);
}

/**
 * activateScript's unit installation, for the units in "$R" into `dir`: a unit that differs is replaced and
 * systemd reloaded later (changed=1). The socket counts as changed (socket_changed=1: re-bound, the one moment a
 * restart refuses connections) only when a directive differs, not a comment or a blank line: on the lab, a
 * shipit upgrade that reworded the socket template's comments re-bound every app's socket on its next deploy and
 * failed 42 of 4,788 requests (ECONNRESET) where a deploy fails none.
 */
export function installUnitsLines(dir: string): string[] {
  const directives = (file: string) => `grep -v -e '^[#;]' -e '^[[:space:]]*$' ${file} 2> /dev/null`;
  return [
    'for f in "$R"/*; do',
    '  n=${f##*/}',
    `  if ! cmp -s "$f" "${dir}/$n"; then`,
    `    if [ "$n" = "$A.socket" ] && [ "$(${directives('"$f"')})" != "$(${directives(`"${dir}/$n"`)})" ]; then socket_changed=1; fi`,
    `    install -m 0644 "$f" "${dir}/.$n.tmp"; mv -f "${dir}/.$n.tmp" "${dir}/$n"; changed=1`,
    '  fi',
    'done',
  ];
}

/**
 * Installs the release's units when they differ, makes sure the socket listens (it owns the port across
 * restarts, so no connection is refused), switches `current` by renaming a new symlink over it, restarts, and
 * prints the unit's state (serviceScript's lines).
 */
export function activateScript(layout: Layout, id: string, timeoutMs: number): string {
  checkReleaseId(id);
  const limit = restartLimitSeconds(timeoutMs);
  return script(
    layout,
    'set -e',
    `R="$S/releases/${id}/units"`,
    `[ -d "$D/releases/${id}" ] && [ -d "$R" ] || { echo "release ${id} is not staged on this host" >&2; exit 3; }`,
    // Another app's release (two configs with one deployTo; prepare refuses that, but a rollback stages nothing):
    // activating it would install that app's units and switch that app's `current` under it.
    `[ -e "$R/$A.service" ] || { echo "release ${id} in $D is another app's (its units are not $A.service): deployTo must be this app's own directory" >&2; exit 3; }`,
    'changed=0; socket_changed=0; t0=$(date +%s)',
    ...installUnitsLines(SYSTEMD_DIR),
    ...WHY_FUNCTION,
    '[ "$changed" = 0 ] || systemctl daemon-reload',
    ...UNIT_STATES,
    // `enable` reloads systemd every time (~0.5 s on a busy host); skip it when the units are enabled already.
    'if [ "$changed" = 1 ] || [ "$sock_file" != enabled ] || [ "$svc_file" != enabled ]; then',
    '  systemctl enable --quiet "$A.socket" "$A.service" 2> /dev/null || systemctl enable --quiet "$A.socket"',
    'fi',
    // A changed socket (new port or address) only takes effect when re-bound: the one moment a restart refuses.
    'if [ "$socket_changed" = 1 ] && [ "$sock_active" = active ]; then systemctl stop "$A.service"; systemctl restart "$A.socket" || why "$A.socket"',
    'elif [ "$sock_active" != active ]; then systemctl start "$A.socket" || why "$A.socket"; fi',
    `ln -sfn "releases/${id}" "$D/.current.tmp"`,
    'mv -fT "$D/.current.tmp" "$D/current"',
    ...envInstallLines(id),
    'systemctl reset-failed "$A.service" 2> /dev/null || true',
    restartService(limit),
    // The state right after the restart: the baseline the readiness gate compares restarts with.
    ...SERVICE_LINES,
  );
}

/** Back to nothing (the host ran nothing before a failed first deploy): stop, disable, remove the units. */
export function deactivateScript(layout: Layout): string {
  return script(
    layout,
    'systemctl disable --now --quiet "$A.service" "$A.socket" 2> /dev/null || true',
    'rm -f "$D/current"',
    `rm -f "${SYSTEMD_DIR}/$A.service" "${SYSTEMD_DIR}/$A.socket"`,
    'systemctl daemon-reload',
    'systemctl reset-failed "$A.service" "$A.socket" 2> /dev/null || true',
  );
}

/** Marks a release and appends the audit line; with `prune`, then removes those releases (as pruneScript). */
export function recordScript(layout: Layout, id: string, state: 'good' | 'bad' | 'interrupted', historyJson: string | null, prune: string[] = []): string {
  checkReleaseId(id);
  return script(
    layout,
    `M="$S/releases/${id}/meta.json"`,
    `if [ -f "$M" ]; then sed -i 's/"state":"[a-z]*"/"state":"${state}"/' "$M"; fi`,
    // A release ran here: the service user and deployTo are the app's now, never undone as a first contact's.
    `rm -f "$S/${CREATED_USER}" "$S/${CREATED_DIR}"`,
    // Root's only (like the journal it quotes): a failure's `error` is what the app answered or logged, redacted of
    // the config's secrets only. An older log, created 0644, is closed too.
    ...(historyJson === null
      ? []
      : [`(umask 077 && printf '%s\\n' ${quote(historyJson)} >> "$S/history.jsonl")`, 'chmod 600 "$S/history.jsonl"', ...staleStagingLines(id)]),
    ...(prune.length > 0 ? pruneLines(prune) : []),
  );
}

/**
 * A run's finish (it holds the lock, so no other run is staging) removes what an earlier run left half-staged:
 * one whose connection died during its upload (sshd killed, link cut) could not discard its `releases/.<id>.tmp`
 * and `.shipit/releases/<id>.tmp`, which no prune ever lists (they are not releases) and which would stay forever.
 */
function staleStagingLines(id: string): string[] {
  return [
    'for t in "$D"/releases/.*.tmp "$S"/releases/*.tmp; do',
    `  case "$t" in "$D/releases/.${id}.tmp"|"$S/releases/${id}.tmp") continue ;; esac`,
    '  [ ! -e "$t" ] || rm -rf "$t"',
    'done',
  ];
}

export function pruneScript(layout: Layout, ids: string[]): string {
  return script(layout, ...pruneLines(ids));
}

function pruneLines(ids: string[]): string[] {
  ids.forEach(checkReleaseId);
  return [
    'cur=$(readlink "$D/current" 2>/dev/null || true)',
    `for r in ${ids.join(' ')}; do`,
    '  [ "$cur" != "releases/$r" ] || continue',
    '  rm -rf "$D/releases/$r" "$S/releases/$r"',
    'done',
  ];
}

/** Releases the lock only if `token` holds it; silent otherwise (the end of a run: nothing left to report). */
export function releaseOwnLockScript(layout: Layout, token: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(token)) throw new Error('invalid lock token');
  return script(layout, READ_LOCK_INFO, `case "$info" in *'"token":"${token}"'*) rm -rf "$S/lock" ;; esac`);
}

/** Fields of a journal entry shipit shows; journalctl adds __CURSOR and __REALTIME_TIMESTAMP itself. */
const JOURNAL_FIELDS = 'MESSAGE,PRIORITY,_PID,SYSLOG_IDENTIFIER,_COMM';

/**
 * Read-only. The service's journal as JSON lines (--all: long or binary messages are not replaced by null),
 * preceded by `now<TAB><µs>`: the host's clock taken BEFORE journalctl reads, so every entry stamped up to that
 * instant is in this output or was in an earlier one (the merge of several hosts' streams relies on it).
 * With `lines` (and no cursor) the newest entries come newest first (--reverse), which is the only way to get the
 * newest N since a time: `--since` with `--lines` counts from the start of the window.
 */
export function journalScript(layout: Layout, query: JournalQuery): string {
  const args = ['journalctl', query.thisStart ? '"$m"' : '--unit="$A.service"', '--output=json', '--all', '--quiet', '--no-pager', `--output-fields=${JOURNAL_FIELDS}`];
  // The current start's processes (JournalQuery.thisStart): InvocationID is hex, or empty where systemd has none.
  const thisStart = query.thisStart
    ? ['i=$(systemctl show -p InvocationID --value "$A.service" 2> /dev/null || true)', 'if [ -n "$i" ]; then m="_SYSTEMD_INVOCATION_ID=$i"; else m="--unit=$A.service"; fi']
    : [];
  if (query.maxPriority !== undefined) {
    if (!Number.isInteger(query.maxPriority) || query.maxPriority < 0 || query.maxPriority > 7) throw new Error(`invalid journal priority ${query.maxPriority}`);
    args.push(`--priority=${query.maxPriority}`);
  }
  if (query.afterCursor !== undefined) {
    if (!/^[A-Za-z0-9=;]+$/.test(query.afterCursor)) throw new Error(`invalid journal cursor ${JSON.stringify(query.afterCursor)}`);
    args.push(`--after-cursor=${quote(query.afterCursor)}`);
  } else {
    if (query.since !== undefined) args.push(`--since=${journalTime(query.since)}`);
    if (query.lines !== undefined) {
      if (!Number.isSafeInteger(query.lines) || query.lines < 0) throw new Error(`invalid line count ${query.lines}`);
      args.push('--reverse', `--lines=${query.lines}`);
    }
  }
  // This start's lines are read for its first warnings (rollout/app-warnings.ts): capped on the host, so that an
  // app that warns on every request while the canary takes traffic sends kilobytes, not megabytes, over SSH.
  const read = query.thisStart ? `${args.join(' ')} | head -n ${JOURNAL_THIS_START_MAX}` : args.join(' ');
  return script(layout, 'printf "now\\t%s\\n" "$(date +%s%6N)"', ...thisStart, read);
}

/** The most entries a read of this start's lines (JournalQuery.thisStart) brings back: its oldest ones. */
export const JOURNAL_THIS_START_MAX = 500;

function journalTime(since: NonNullable<JournalQuery['since']>): string {
  if ('secondsAgo' in since) {
    if (!Number.isSafeInteger(since.secondsAgo) || since.secondsAgo < 0) throw new Error(`invalid --since ${since.secondsAgo}`);
    return `-${since.secondsAgo}s`;
  }
  if (!Number.isSafeInteger(since.epochUs) || since.epochUs < 0) throw new Error(`invalid --since ${since.epochUs}`);
  return `@${Math.floor(since.epochUs / 1e6)}.${String(since.epochUs % 1e6).padStart(6, '0')}`;
}

/** Read-only. The installed unit files, base64 so that the content comes back byte for byte (or `absent`). */
export function unitFilesScript(layout: Layout, names: readonly string[]): string {
  return script(
    layout,
    `for n in ${names.map(unitName).join(' ')}; do`,
    `  f="${SYSTEMD_DIR}/$n"`,
    '  if [ -f "$f" ]; then printf "unit\\t%s\\t%s\\n" "$n" "$(base64 -w0 < "$f")"; else printf "absent\\t%s\\n" "$n"; fi',
    'done',
  );
}

/**
 * Read-only. Compares the variable lines on stdin (envChangesInput: `+e NAME="…"` for env, `+s` for secrets)
 * with shared/env and shared/secrets.env, the files the running release's unit reads; prints only
 * `env<TAB>added|changed|removed<TAB>e|s NAME`, never a value. A host never deployed to has neither file.
 */
export function envChangesScript(layout: Layout): string {
  return script(
    layout,
    'set --; for f in "$D/shared/env" "$D/shared/secrets.env"; do [ ! -f "$f" ] || set -- "$@" "$f"; done',
    "awk '",
    '  /^[+][es] / { l = substr($0, 4); k = l; sub(/=.*/, "", k); want[substr($0, 2, 1) " " k] = l; next }',
    '  /^[A-Za-z_][A-Za-z0-9_]*=/ { k = $0; sub(/=.*/, "", k); have[(FILENAME ~ "/secrets[.]env$" ? "s" : "e") " " k] = $0 }',
    '  END {',
    '    for (x in want) if (!(x in have)) print "env\\tadded\\t" x; else if (have[x] != want[x]) print "env\\tchanged\\t" x',
    '    for (x in have) if (!(x in want)) print "env\\tremoved\\t" x',
    `  }' - "$@"`,
  );
}

function unitName(name: string): string {
  if (!/^[A-Za-z0-9@._-]+\.(service|socket)$/.test(name)) throw new Error(`invalid unit name ${JSON.stringify(name)}`);
  return name;
}
