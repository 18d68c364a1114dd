import type { DepsSpec, PythonDepsSpec } from '../host/deps-types.js';
import type { ManifestEntry } from '../host/types.js';
import { checkReleaseId, preamble, type Layout } from './layout.js';
import { inline, quote } from './quote.js';

/**
 * Dependency sets on a host, as shell scripts (tested by exact text, like scripts.ts):
 *
 *   <deployTo>/deps/python/<set>/            a virtualenv: bin/python, lib/…/site-packages, .shipit/install.log
 *   <deployTo>/deps/node/<set>/node_modules  production node_modules
 *   <deployTo>/deps/<kind>/<set>/.shipit-set.json   written LAST: a set without it is incomplete and rebuilt
 *   <deployTo>/releases/<id>/.shipit/venv -> ../../../deps/python/<set>
 *   <deployTo>/releases/<id>/node_modules -> ../../deps/node/<set>/node_modules
 *
 * A set is built in place (pip writes the virtualenv's absolute path into bin/ scripts, so a virtualenv cannot be
 * renamed into place like a release) and only counts once its marker exists: a killed install leaves no set that
 * anything links to, and the next prepare starts that directory over. The set id is the deployer's key hashed
 * with what only the host knows: its Python version, or its Node ABI and platform.
 */
const script = (layout: Layout, ...lines: string[]) => [preamble(layout), ...lines].join('\n');

const MARKER = '.shipit-set.json';

export function checkSetId(set: string): string {
  if (!/^[0-9a-f]{16}$/.test(set)) throw new Error(`invalid dependency set id ${JSON.stringify(set)}`);
  return set;
}

function checkKey(key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`invalid dependency key ${JSON.stringify(key)}`);
  return key;
}

/** The set id: the first 16 hex digits of sha256("<key>\n<host facts>\n"). */
const setId = (key: string, facts: string) => `h=$(printf '%s\\n%s\\n' ${checkKey(key)} "${facts}" | sha256sum | cut -c1-16)`;

/** What Python version the set is for: version, bytecode tag, machine and the full build string. */
const PYTHON_FACTS = 'import platform, sys; print(sys.implementation.cache_tag, platform.machine(), sys.version.replace(chr(10), " "))';
const NODE_FACTS = 'process.versions.modules + " " + process.platform + "-" + process.arch + " " + process.versions.node';

/**
 * Read-only. For each spec, in order, one line `<i> <set> have|need [<abi> <platform> <node version>]`; exit 3 with `prereq:` lines
 * when the interpreter or node is missing.
 */
export function depsProbeScript(layout: Layout, specs: readonly DepsSpec[]): string {
  const lines = specs.flatMap((spec, i) => {
    if (spec.kind === 'python') {
      const python = quote(spec.interpreter);
      return [
        `if v=$(${python} -c ${quote(PYTHON_FACTS)} 2> /dev/null); then`,
        `  ${setId(spec.key, '$v')}`,
        `  if [ -f "$D/deps/python/$h/${MARKER}" ]; then echo "${i} $h have"; else echo "${i} $h need"; fi`,
        `else printf "prereq: %s\\n" ${quote(`${spec.interpreter} cannot run on this host (server.python.interpreter; Debian: apt-get install python3 python3-venv python3-pip)`)}; exit 3; fi`,
      ];
    }
    return [
      `if f=$(node -p ${quote(NODE_FACTS)} 2> /dev/null); then`,
      // The exact version is not part of the id (an ABI is shared by every 18.x): it picks headers to compile for.
      '  t=${f% *}',
      `  ${setId(spec.key, '$t')}`,
      `  if [ -f "$D/deps/node/$h/${MARKER}" ]; then echo "${i} $h have $f"; else echo "${i} $h need $f"; fi`,
      `else echo "prereq: node cannot run on this host (Debian: apt-get install nodejs)"; exit 3; fi`,
    ];
  });
  return script(layout, ...lines);
}

const sha256Lines = (files: readonly ManifestEntry[]) => files.map((f) => `${f.sha256}  ${f.path}\n`).join('');

/** The set's files: root-owned, readable by the service group only, never writable by the service. */
const SEAL = ['chown -R "root:$U" "$X"', 'chmod -R g+rX,g-w,o-rwx "$X"'];

/**
 * Builds a Python set from the gzipped tar on stdin (requirements.txt, wheels/): a virtualenv without pip of
 * its own (the system's pip installs into it with --python), the requirements installed, the preset's modules
 * imported as a check, everything compiled to bytecode now because the service can never write into it.
 * Exit 4: a shipped file is corrupt; 5: venv or pip failed (its output's tail on stderr); 6: a module the
 * preset needs cannot be imported (`missing <module>` on stderr).
 */
export function pythonInstallScript(layout: Layout, set: string, spec: PythonDepsSpec): string {
  checkSetId(set);
  const python = quote(spec.interpreter);
  const findLinks = spec.offline ? ' --no-index --find-links "$X/.shipit/src/wheels"' : '';
  const meta = JSON.stringify({ kind: 'python', key: spec.key, interpreter: spec.interpreter, systemSitePackages: spec.systemSitePackages, offline: spec.offline });
  return script(
    layout,
    'set -e',
    'umask 022',
    `X="$D/deps/python/${set}"; L="$X/.shipit/install.log"`,
    'rm -rf "$X"; mkdir -p "$X/.shipit/src"',
    'tar -C "$X/.shipit/src" --no-same-owner -xzf -',
    `if ! ${inline(sha256Lines(spec.files))} | (cd "$X/.shipit/src" && sha256sum --quiet --strict -c - >&2); then echo "checksum mismatch in the shipped dependencies" >&2; rm -rf "$X"; exit 4; fi`,
    'fail() { tail -n 40 "$L" >&2; rm -rf "$X"; exit 5; }',
    `${python} -m venv --without-pip${spec.systemSitePackages ? ' --system-site-packages' : ''} "$X" > "$L" 2>&1 || fail`,
    `${python} -m pip --python "$X/bin/python" install --no-input --disable-pip-version-check --no-cache-dir --no-warn-script-location --retries 2 --timeout 10${findLinks} -r "$X/.shipit/src/requirements.txt" >> "$L" 2>&1 || fail`,
    ...spec.imports.map((i) => importCheck(i)),
    // Bytecode now: PYTHONDONTWRITEBYTECODE=1 and ProtectSystem=strict forbid writing it at run time.
    '"$X/bin/python" -m compileall -q -j 0 "$X/lib" >> "$L" 2>&1 || fail',
    'rm -rf "$X/.shipit/src/wheels"',
    ...SEAL,
    `${inline(`${meta}\n`)} > "$X/${MARKER}"`,
  );
}

/**
 * One import the set must satisfy, or exit 6 with `missing <module>` (it does not import) or `undefined
 * <module> <name>` (it imports but has no such attribute): the deployer turns either into the fix.
 */
function importCheck(i: PythonDepsSpec['imports'][number]): string {
  const fail = (what: string) => `{ echo "${what}" >&2; rm -rf "$X"; exit 6; }`;
  const load = `"$X/bin/python" -c ${quote(`import ${i.module}`)} >> "$L" 2>&1 || ${fail(`missing ${i.module}`)}`;
  if (i.name === undefined) return load;
  const has = `import sys, ${i.module} as m; sys.exit(0 if hasattr(m, ${JSON.stringify(i.name)}) else 1)`;
  return `${load}\n"$X/bin/python" -c ${quote(has)} >> "$L" 2>&1 || ${fail(`undefined ${i.module} ${i.name}`)}`;
}

/**
 * Unpacks a node set (gzipped tar of node_modules/ on stdin, built on the deployer), then loads its native addons
 * with this host's node, as the service user: `addon<TAB><path><TAB><error>` lines and exit 5 for those that do
 * not load, before any release links to the set. `.shipit-addons` lists the files that loaded.
 *
 * Prebuilt binaries in the prebuildify layout that node-gyp-build reads at run time (bufferutil, utf-8-validate,
 * …), `prebuilds/<platform>-<arch>[+<arch>…]/*.node`, are checked as node-gyp-build uses them: only the directory
 * of this host's platform and architecture counts (the darwin and win32 ones never load on Linux, and nothing
 * loads them), and of its files, which differ by tags (N-API or ABI version, glibc or musl), one must load.
 */
export function nodeInstallScript(layout: Layout, set: string): string {
  checkSetId(set);
  const load = 'process.dlopen({ exports: {} }, process.argv[1])';
  return script(
    layout,
    'set -e',
    'umask 022',
    `X="$D/deps/node/${set}"`,
    'rm -rf "$X"; mkdir -p "$X"',
    'tar -C "$X" --no-same-owner -xzf -',
    ...SEAL,
    'as_user() { if command -v runuser > /dev/null 2>&1; then runuser -u "$U" -- "$@"; else "$@"; fi; }',
    // Loads one addon; on success lists it in .shipit-addons, else leaves Node's message in $out.
    `try_load() { if out=$(as_user node -e ${quote(load)} "$1" 2>&1); then printf '%s\\n' "\${1#"$X/"}" >> "$X/.shipit-addons"; else return 1; fi; }`,
    // Node's message spans lines ("Error: The module …\nwas compiled against … NODE_MODULE_VERSION 115 …"): one line.
    `addon_line() { printf 'addon\\t%s\\t%s\\n' "\${1#"$X/"}" "$(printf '%s\\n' "$2" | sed -n '/[Ee]rror/,$p' | head -n 4 | tr '\\n\\t' '  ')"; }`,
    `host=$(as_user node -p ${quote('process.platform + " " + process.arch')}); plat=\${host% *}; arch=\${host#* }`,
    'bad=0',
    ': > "$X/.shipit-addons"',
    'find "$X/node_modules" -name "*.node" -type f | sort > "$X/.shipit-found"',
    // Every addon outside a prebuilds/<platform>-<arch>/ directory must load.
    'while IFS= read -r f; do',
    '  case "${f%/*}" in */prebuilds/*/*) ;; */prebuilds/*) continue ;; esac',
    '  try_load "$f" || { addon_line "$f" "$out"; bad=1; }',
    'done < "$X/.shipit-found"',
    // Of each prebuilds directory for this host's platform and architecture, one file must load.
    `sed -n 's|/[^/]*$||p' "$X/.shipit-found" | grep '/prebuilds/[^/]*$' | sort -u > "$X/.shipit-prebuilt"`,
    'while IFS= read -r d; do',
    '  n=${d##*/}',
    '  [ "${n%%-*}" = "$plat" ] || continue',
    '  case "+${n#*-}+" in *"+$arch+"*) ;; *) continue ;; esac',
    '  ok=0; : > "$X/.shipit-failed"',
    '  for f in "$d"/*.node; do',
    '    if try_load "$f"; then ok=1; break; fi',
    '    addon_line "$f" "$out" >> "$X/.shipit-failed"',
    '  done',
    '  if [ "$ok" = 0 ]; then cat "$X/.shipit-failed"; bad=1; fi',
    'done < "$X/.shipit-prebuilt"',
    'rm -f "$X/.shipit-found" "$X/.shipit-prebuilt" "$X/.shipit-failed"',
    'if [ "$bad" != 0 ]; then rm -rf "$X"; exit 5; fi',
    `${inline(`${JSON.stringify({ kind: 'node' })}\n`)} > "$X/${MARKER}"`,
  );
}

/** Links the release being staged (`releases/.<id>.tmp`) to its sets, relative links that survive renames. */
export function depsLinkScript(layout: Layout, id: string, sets: readonly { kind: DepsSpec['kind']; set: string }[]): string {
  checkReleaseId(id);
  return script(
    layout,
    'set -e',
    `T="$D/releases/.${id}.tmp"`,
    ...sets.flatMap(({ kind, set }) =>
      kind === 'python'
        ? ['mkdir -p "$T/.shipit"', `ln -sfn ../../../deps/python/${checkSetId(set)} "$T/.shipit/venv"`]
        : [`rm -rf "$T/node_modules"`, `ln -sfn ../../deps/node/${checkSetId(set)}/node_modules "$T/node_modules"`],
    ),
  );
}

/**
 * Removes every set that no release on the host links to (run after releases are pruned, under the lock).
 * Prints `pruned <kind>/<set>` for each.
 */
export function pruneDepsScript(layout: Layout): string {
  return script(
    layout,
    'for s in "$D"/deps/python/* "$D"/deps/node/*; do',
    '  [ -d "$s" ] || continue',
    '  n=${s#"$D/deps/"}',
    '  used=0',
    '  for l in "$D"/releases/*/.shipit/venv "$D"/releases/*/node_modules; do',
    '    [ -L "$l" ] || continue',
    '    case "$(readlink "$l")" in */deps/"$n"|*/deps/"$n"/*) used=1; break ;; esac',
    '  done',
    '  if [ "$used" = 0 ]; then rm -rf "$s"; echo "pruned $n"; fi',
    'done',
  );
}
