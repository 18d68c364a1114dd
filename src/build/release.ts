import type { ResolvedConfig } from '../config/types.js';
import type { DepsSpec } from '../host/deps-types.js';
import type { Prerequisite, ReleaseMeta, ReleaseSpec } from '../host/types.js';
import { quote } from '../remote/quote.js';
import { PREREQ_OUT, SHIPIT_UNIT_FIRST_LINE, UNITS_ELSEWHERE_LINES } from '../remote/scripts.js';
import { unitsElsewhereMessage } from '../host/units-elsewhere.js';
import { renderEnvFile, renderUnits } from '../units/render.js';
import { openArtifactTar, type Artifact } from './artifact.js';
import { nodeVersionPrerequisite, type NodeEngines } from './node-engines.js';
import { splitClass } from './python-deps.js';
import { sharedTar } from './shared-tar.js';

/** What the host must have for the preset to run, checked in prepare before anything is written. */
export function prerequisites(config: ResolvedConfig, nodeEngines?: NodeEngines): Prerequisite[] {
  return [unitNamesFree(config.app), unitsOwn(config.app, config.deployTo), deployToOwn(config.app, config.deployTo), portFree(config.server.port, config.server.bind), ...presetPrerequisites(config, nodeEngines)];
}

/**
 * `deployTo` must hold no other app's releases. Two configs given the same deployTo by mistake (a copied config
 * whose `app` was changed and `deployTo` not) shared one lock, one `current` and one shared/env: the second app's
 * deploy linked the first's files as its base, switched the first's `current` to its own code (owned by another
 * group, so the first app failed at its next restart), replaced its env and secrets, and pruned its releases as
 * its own. A release's units name its app (<app>.service), so any release there with another app's service unit
 * means the directory is another app's. Read by the shell's glob alone: no process per deploy. A stage that died
 * before writing its units has none, and does not count.
 */
function deployToOwn(app: string, deployTo: string): Prerequisite {
  return {
    check: ['for u in "$S"/releases/*/units/*.service; do', '  [ -e "$u" ] || continue', '  [ "${u##*/}" = "$A.service" ] || exit 1', 'done'].join('\n'),
    message: `${deployTo} holds another app's releases (their units are not ${app}.service): each app needs its own deployTo (the default is /srv/<app>); \`ls ${deployTo}/.shipit/releases/*/units\` on the host names that app`,
    // The config's deployTo is taken, as rollback and remove refuse it: a config error (exit 2), not a missing part.
    conflict: true,
  };
}

/**
 * `<app>.service` and `<app>.socket` must not serve another deployTo that is in use: two environments of one app
 * on a host (staging and production both `app: 'shop'`) would share them, and this deploy would take them over from
 * the other (src/remote/scripts.ts UNITS_ELSEWHERE_LINES). A conflict of the config with the host, not something
 * to install: a config error (exit 2), before anything changed.
 */
function unitsOwn(app: string, deployTo: string): Prerequisite {
  return {
    check: [...UNITS_ELSEWHERE_LINES, '[ -z "$elsewhere" ] || { printf "%s" "$elsewhere${elsewhere_port:+ (port $elsewhere_port)}"; exit 2; }'].join('\n'),
    message: `${app}.service could not be read to tell which deployTo it serves`,
    messages: { 2: unitsElsewhereMessage(app, deployTo, PREREQ_OUT) },
    conflict: true,
  };
}

/**
 * The port must be free, or be this app's own socket's (its unit file says so; should that socket be stopped and
 * another service hold the port, activation still reports the clash): a port another service listens on was found only at
 * activation ("Address already in use", exit 5 after the release and its user were created). Read from
 * /proc/net/tcp{,6} (no `ss` needed: iproute2 may be absent): a listener (state 0A) on the port conflicts when
 * either side is a wildcard address or both are the same IPv4 address; an IPv4 bind ignores specific IPv6
 * listeners. (A listener on another specific address does not conflict; two specific IPv6 addresses are not
 * compared, and activation still reports a clash there.)
 */
function portFree(port: number, bind: string): Prerequisite {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const wildcard = bind === '0.0.0.0' || bind === '::';
  // /proc/net/tcp writes an IPv4 address as one little-endian 32-bit hex word: 127.0.0.1 is 0100007F.
  const v4 = /^\d+\.\d+\.\d+\.\d+$/.test(bind)
    ? bind
        .split('.')
        .reverse()
        .map((octet) => Number(octet).toString(16).toUpperCase().padStart(2, '0'))
        .join('')
    : '-';
  return {
    check: [
      // Ours when the app's socket unit (shipit's own: unitNamesFree) listens there: read by the shell, no systemctl
      // process (~16 ms of host CPU) on the lock's critical path.
      `f="/etc/systemd/system/$A.socket"`,
      `if [ -f "$f" ]; then while IFS= read -r l; do case "$l" in "ListenStream=${port}" | ListenStream=*:${port}) exit 0 ;; esac; done < "$f"; fi`,
      // Nothing listens on the port at all (every first deploy): free, without reading /proc/net/tcp{,6}, whose
      // reading to the end cost a lab host ~15 ms of kernel CPU with 24 sockets in all (the kernel walks its whole
      // established-connections hash, 262,144 buckets on this 24 GB machine; issue 6). ss asks sock_diag for
      // listeners only (`state listening`; -l adds closed sockets, and with them the same walk): ~3 ms with its
      // fork. Only its empty answer is taken: a listener on the port (on which address decides), an ss that fails
      // or none at all (iproute2 is not on every host) leave it to the tables below.
      `if l=$(ss -Htn state listening 'sport = :${port}' 2> /dev/null) && [ -z "$l" ]; then exit 0; fi`,
      `awk -v p=${hexPort} -v any=${wildcard ? 1 : 0} -v me=${v4} -v v4only=${bind === '::' || v4 === '-' ? 0 : 1} '$4 == "0A" { split($2, a, ":"); w = a[1] ~ /^0+$/; if (v4only && FILENAME ~ /6$/ && !w) next; if (a[2] == p && (any || w || a[1] == me)) found = 1 } END { exit found }' /proc/net/tcp /proc/net/tcp6 && exit 0`,
      // Taken. By a socket unit (another app shipit deployed, most often): named, as ss names only systemd and the
      // processes that inherited the socket (two apps' "gunicorn" look alike). Read by the shell, only on a clash.
      'for s in /etc/systemd/system/*.socket; do',
      `  [ -f "$s" ] && [ "$s" != "$f" ] || continue`,
      `  while IFS= read -r l; do case "$l" in "ListenStream=${port}" | ListenStream=*:${port}) printf %s "\${s##*/}"; exit 2 ;; esac; done < "$s"`,
      'done',
      'exit 1',
    ].join('\n'),
    message: `port ${port} is already in use on this host by another service (\`ss -ltnp 'sport = :${port}'\` names it): choose another server.port, or stop that service`,
    messages: { 2: `port ${port} is already in use on this host by ${PREREQ_OUT} (\`systemctl cat ${PREREQ_OUT}\` shows it): give each app on a host its own server.port` },
  };
}

/**
 * The app's unit names must be free or shipit's own: `app: 'ssh'` would otherwise replace the host's OpenSSH
 * service with the app (a unit in /etc/systemd/system overrides a package's in /lib) and lock everyone out. A unit
 * shipit wrote starts with its "rendered by shipit" line; read by the shell itself, no process per deploy.
 */
function unitNamesFree(app: string): Prerequisite {
  return {
    check: [
      'for u in "$A.service" "$A.socket"; do',
      '  for d in /lib/systemd/system /usr/lib/systemd/system /usr/local/lib/systemd/system; do [ ! -e "$d/$u" ] || exit 1; done',
      '  f="/etc/systemd/system/$u"',
      `  if [ -L "$f" ]; then exit 1; elif [ -e "$f" ]; then first=; IFS= read -r first < "$f" || :; case "$first" in ${SHIPIT_UNIT_FIRST_LINE}) ;; *) exit 1 ;; esac; fi`,
      'done',
    ].join('\n'),
    message: `${app}.service or ${app}.socket is already a unit on this host that shipit did not write (a package's, or the admin's): deploying would replace it; choose another \`app\` name`,
  };
}

function presetPrerequisites(config: ResolvedConfig, nodeEngines: NodeEngines | undefined): Prerequisite[] {
  const { server } = config;
  switch (server.preset) {
    case 'gunicorn': {
      // With a virtualenv, gunicorn and the worker class come from it (checked when its set is built).
      if (server.python) return pythonPrerequisites(server.python.interpreter);
      const { module: workerModule, name } = splitClass(server.workerClass);
      if (workerModule === '') return [{ check: 'command -v gunicorn', message: 'gunicorn is not installed (Debian: apt-get install gunicorn)' }];
      return [
        { check: 'command -v gunicorn', message: 'gunicorn is not installed (Debian: apt-get install gunicorn)' },
        {
          check: `python3 -c ${quote(findModule(workerModule, name))}`,
          message: `the worker class module ${workerModule} is not installed (Debian: apt-get install python3-uvicorn)`,
          messages: { 2: `${workerModule} defines no ${name} (server.workerClass: check the spelling, e.g. uvicorn.workers.UvicornWorker)` },
        },
      ];
    }
    case 'node':
      return [
        { check: 'command -v node', message: 'node is not installed (Debian: apt-get install nodejs)' },
        nodeVersionPrerequisite(nodeEngines),
      ];
    case 'command':
      return [
        ...(server.python ? pythonPrerequisites(server.python.interpreter) : []),
        ...(server.npm ? [{ check: 'command -v node', message: 'node is not installed (Debian: apt-get install nodejs)' }] : []),
      ];
  }
}

/**
 * Python that exits 0 when `module` is installed, without importing it: importing uvicorn.workers takes
 * 0.15 s of CPU on an idle host (gunicorn, uvicorn, asyncio...), 0.4–0.6 s on a busy one, on every prepare;
 * locating it takes 0.02 s. The top package is found by the import system itself, the rest by file. A module
 * that is there but fails to import is caught when the service starts (the gate sees the unit fail).
 *
 * With `name`, in the same process (a second python start cost 40–80 ms of a busy host's prepare): exit 2 when the
 * module's source shows that it cannot have `name` — no definition, assignment or import of it anywhere in the
 * file, no `import *`, no module-level `__getattr__`. In doubt (a compiled module, a namespace package) it exits 0,
 * and the service's start is the judge.
 *
 * It runs in every prepare, on every host, so its imports are priced (lab host, CPU per run): python3 itself
 * 14 ms, `importlib.util` +6 ms (the import system's own finders on sys.meta_path, which importlib.util.find_spec
 * asks for a top-level name, are there already), `ast` +8 ms, `re` +9 ms. A line of the source that starts a
 * `class <name>` statement answers yes without `ast` (18 instead of 32 ms per run); only when there is none does
 * the source get parsed, for the other ways a module can have the name.
 */
export function findModule(module: string, name?: string): string {
  const [top, ...rest] = module.split('.');
  const located = [
    'import importlib.machinery, os, sys',
    // What importlib.util.find_spec does for a top-level name not imported yet, without importing importlib.util.
    `s = next((s for s in (f.find_spec(${JSON.stringify(top)}, None) for f in sys.meta_path if hasattr(f, "find_spec")) if s is not None), None)`,
    `p = os.path.join(*(list(s.submodule_search_locations or [""])[:1] + ${JSON.stringify(rest)})) if s else None`,
    `if not (s and (${rest.length === 0 ? 'True' : 'os.path.isdir(p) or any(os.path.exists(p + x) for x in importlib.machinery.all_suffixes())'})): sys.exit(1)`,
  ];
  if (name === undefined) return located.join('\n');
  const classLine = JSON.stringify(`class ${name}`);
  return [
    ...located,
    `f = ${rest.length === 0 ? 's.origin' : '(p + ".py") if os.path.isfile(p + ".py") else os.path.join(p, "__init__.py")'}`,
    'if not f or not f.endswith(".py") or not os.path.isfile(f): sys.exit(0)',
    'src = open(f, "rb").read()',
    `k = ${classLine}.encode()`,
    'if any(l.lstrip().startswith(k) and l.lstrip()[len(k):len(k) + 1] in (b"(", b":", b" ", b"\\t") for l in src.splitlines()): sys.exit(0)',
    'import ast',
    't = ast.parse(src)',
    'names = set()',
    'for n in ast.walk(t):',
    '    if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)): names.add(n.name)',
    '    elif isinstance(n, (ast.Import, ast.ImportFrom)): names.update((a.asname or a.name).split(".")[0] for a in n.names)',
    '    elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): names.add(n.id)',
    `sys.exit(0 if names & {${JSON.stringify(name)}, "*"} or any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in t.body) else 2)`,
  ].join('\n');
}

/** What building a virtualenv on the host takes: the interpreter, its venv module, and pip (which installs into it). */
function pythonPrerequisites(interpreter: string): Prerequisite[] {
  const python = quote(interpreter);
  return [
    { check: `command -v ${python}`, message: `${interpreter} is not installed (server.python.interpreter; Debian: apt-get install python3)` },
    { check: `${python} -c 'import venv'`, message: `${interpreter} has no venv module (Debian: apt-get install python3-venv)` },
    // `import pip` rather than `-m pip --version`: 0.09 s instead of 0.8 s on every prepare. --python needs pip 22.3.
    {
      check: `${python} -c ${quote("import pip, sys; sys.exit(tuple(int(p) for p in pip.__version__.split('.')[:2]) < (22, 3))")}`,
      message: `${interpreter} has no pip 22.3 or newer (Debian 12: apt-get install python3-pip)`,
    },
  ];
}

/** Everything a host needs to stage the release: files, units, env, checks. */
export function makeReleaseSpec(config: ResolvedConfig, artifact: Artifact, meta: ReleaseMeta, deps: DepsSpec[] = [], nodeEngines?: NodeEngines): ReleaseSpec {
  // A set being built needs room for what ships and what pip unpacks from it.
  const depsBytes = deps.reduce((sum, d) => sum + (d.kind === 'python' ? d.files.reduce((s, f) => s + f.size, 0) * 4 : 0), 0);
  return {
    meta,
    files: artifact.files,
    openTar: sharedTar((paths) => openArtifactTar(artifact, paths)).open,
    units: renderUnits(config),
    env: renderEnvFile(config.server.env),
    secrets: renderEnvFile(config.server.secrets),
    prerequisites: prerequisites(config, nodeEngines),
    // The release itself, plus room for one more and the temporary copy.
    diskBytes: artifact.bytes * 2 + depsBytes + 16 * 1024 * 1024,
    ...(deps.length > 0 ? { deps } : {}),
  };
}
