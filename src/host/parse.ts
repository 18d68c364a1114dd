import type { InstalledUnit, JournalBatch, JournalEntry, LockInfo, ManifestEntry, ReleaseMeta, RemovalReport, ServiceState, UnitsElsewhere } from './types.js';

/** Parsers of what the remote scripts print. Pure; tolerant of missing pieces (a host never deployed to). */

export function parseServiceLines(lines: string[]): ServiceState {
  const values = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const active = values.get('ActiveState') || 'unknown';
  const stamp = values.get('ActiveEnterTimestamp') ?? '';
  const seconds = /^@(\d+)/.exec(stamp)?.[1];
  return {
    active,
    sub: values.get('SubState') || 'unknown',
    mainPid: Number(values.get('MainPID') ?? 0) || 0,
    restarts: Number(values.get('NRestarts') ?? 0) || 0,
    since: active === 'active' && seconds ? new Date(Number(seconds) * 1000).toISOString() : null,
    workers: Number(values.get('Workers') ?? 0) || 0,
    ...listenPort(values.get('Listen')),
    ...runningRelease(values.get('Cwd')),
  };
}

/** `Cwd=/srv/app/releases/<id>`: the release the main process runs; another directory: none. Absent: not read. */
function runningRelease(cwd: string | undefined): { runs?: string | null } {
  if (cwd === undefined) return {};
  return { runs: /\/releases\/([^/]+)$/.exec(cwd)?.[1] ?? null };
}

/** `Listen=0.0.0.0:8000 (Stream)`, `[::]:8000 (Stream)`: the first stream port of the socket unit. */
function listenPort(listen: string | undefined): { port?: number } {
  const port = /:(\d+) \(Stream\)/.exec(listen ?? '')?.[1];
  return port === undefined ? {} : { port: Number(port) };
}

/** Lines "tag\tpayload" grouped by tag. */
export function splitTagged(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const tag = line.slice(0, tab);
    if (!out.has(tag)) out.set(tag, []);
    out.get(tag)!.push(line.slice(tab + 1));
  }
  return out;
}

export function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export function parseLock(text: string | undefined): LockInfo | null {
  if (text === undefined) return null;
  // A lock directory without readable info (a deploy killed between mkdir and write) is still a lock.
  return parseJson<LockInfo>(text) ?? { by: 'unknown', pid: 0, at: 'unknown', release: null, message: 'lock without info', token: '' };
}

/** `elsewhere<TAB><deployTo><TAB><port>` (src/remote/scripts.ts UNITS_ELSEWHERE_REPORT_LINES): the app's units serve another deployTo. */
export function parseElsewhere(stdout: string): UnitsElsewhere | null {
  const line = splitTagged(stdout).get('elsewhere')?.[0];
  if (line === undefined) return null;
  const [deployTo = '', port = ''] = line.split('\t');
  return deployTo === '' ? null : { deployTo, port: port === '' ? null : port };
}

/** What removalScript prints (src/remote/remove-scripts.ts); `removed` only when it was given a token. */
export function parseRemoval(stdout: string, removing: boolean): RemovalReport {
  const tagged = splitTagged(stdout);
  const dir = tagged.get('dir')?.[0];
  const foreign = tagged.get('foreign')?.[0];
  const elsewhere = parseElsewhere(stdout);
  const lines = stdout.split('\n');
  return {
    dir: dir === 'directory' || dir === 'symlink' || dir === 'other' ? dir : 'absent',
    entries: tagged.get('entry') ?? [],
    extra: tagged.get('extra') ?? [],
    ...(foreign ? { foreignUnit: foreign } : {}),
    ...(elsewhere ? { unitsElsewhere: elsewhere } : {}),
    current: tagged.get('current')?.[0]?.split('/').pop() || null,
    releases: Number(tagged.get('releases')?.[0] ?? 0) || 0,
    lock: parseLock(tagged.get('lock')?.[0]),
    ...(tagged.get('state')?.[0] ? { state: tagged.get('state')![0]! } : {}),
    ...(tagged.get('user')?.[0] ? { user: tagged.get('user')![0]! } : {}),
    units: (tagged.get('unit') ?? []).map((line) => {
      const [name = '', owner, active] = line.split('\t');
      return { name, owner: owner === 'shipit' || owner === 'elsewhere' ? owner : ('other' as const), active: active || 'unknown' };
    }),
    ...(removing ? { removed: lines.includes('removed') } : {}),
  };
}

export function parseReleases(lines: string[]): ReleaseMeta[] {
  return lines.flatMap((line) => {
    const meta = parseJson<ReleaseMeta>(line);
    return meta && typeof meta.id === 'string' ? [meta] : [];
  });
}

export function formatManifest(files: readonly ManifestEntry[]): string {
  return files.map((f) => `${f.path}\t${f.mode.toString(8).padStart(4, '0')}\t${f.sha256}\t${f.size}\n`).join('');
}

export function parseManifest(lines: readonly string[]): ManifestEntry[] {
  return lines.flatMap((line) => {
    const [path, mode, sha256, size] = line.split('\t');
    if (!path || !mode || !sha256) return [];
    return [{ path, mode: parseInt(mode, 8), sha256, size: Number(size ?? 0) }];
  });
}

/** What one stage command needs, given the next release's files and the base release's manifest lines. */
export interface ManifestDelta {
  /** Files of the next release the base does not have with the same content and mode: sent. */
  send: ManifestEntry[];
  /** How many files are linked from the base. */
  reuse: number;
  /** Paths of the base not reused, one per line: the host drops their manifest lines. */
  drop: string;
  dropCount: number;
  /** Manifest lines of the files sent. */
  sent: string;
  /** The next release's manifest as the host composes it: the base's kept lines (as they are), then `sent`. */
  manifest: string;
}

/**
 * A base file is reused when the next release has the same path with the same sha256 and mode. Decided per
 * path, the way the host's awk applies `drop`; kept lines are the base's own bytes, so the manifest composed
 * here and the one composed on the host hash the same.
 */
export function manifestDelta(next: readonly ManifestEntry[], baseLines: readonly string[]): ManifestDelta {
  const want = new Map(next.map((f) => [f.path, `${f.sha256}\0${f.mode}`]));
  const pathOf = (line: string) => line.split('\t', 1)[0]!;
  const dropped = new Set<string>();
  for (const line of baseLines) {
    const entry = parseManifest([line])[0];
    if (!entry || want.get(entry.path) !== `${entry.sha256}\0${entry.mode}`) dropped.add(pathOf(line));
  }
  const kept = baseLines.filter((line) => !dropped.has(pathOf(line)));
  const keptPaths = new Set(kept.map(pathOf));
  const send = next.filter((f) => !keptPaths.has(f.path));
  const sent = formatManifest(send);
  return {
    send,
    reuse: next.length - send.length,
    drop: [...dropped].map((p) => `${p}\n`).join(''),
    dropCount: dropped.size,
    sent,
    manifest: kept.map((line) => `${line}\n`).join('') + sent,
  };
}

/**
 * What journalScript prints: `now<TAB>µs`, then one JSON object per entry (journalctl -o json). A field is a
 * string, an array of bytes (binary or invalid UTF-8), or an array of those when it occurs more than once.
 * `reversed`: the entries came newest first (--reverse); they are returned oldest first.
 */
export function parseJournal(stdout: string, reversed: boolean): JournalBatch {
  let readAtUs = 0;
  const entries: JournalEntry[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('now\t')) readAtUs = Number(line.slice(4)) || 0;
    if (!line.startsWith('{')) continue;
    const raw = parseJson<Record<string, unknown>>(line);
    if (!raw || typeof raw['__CURSOR'] !== 'string') continue;
    const pid = Number(journalField(raw['_PID']));
    entries.push({
      cursor: raw['__CURSOR'],
      timeUs: Number(journalField(raw['__REALTIME_TIMESTAMP'])) || 0,
      priority: Number(journalField(raw['PRIORITY']) || 6),
      identifier: journalField(raw['SYSLOG_IDENTIFIER']) || journalField(raw['_COMM']) || '?',
      pid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
      message: journalField(raw['MESSAGE']),
    });
  }
  if (reversed) entries.reverse();
  return { entries, readAtUs };
}

function journalField(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'number')) return Buffer.from(value as number[]).toString('utf8');
    return value.length > 0 ? journalField(value[0]) : '';
  }
  return '';
}

/** What unitFilesScript prints: `unit<TAB>name<TAB>base64` or `absent<TAB>name`, in the order asked. */
export function parseUnitFiles(stdout: string, names: readonly string[]): InstalledUnit[] {
  const found = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [tag, name, b64] = line.split('\t');
    if (tag === 'unit' && name !== undefined) found.set(name, Buffer.from(b64 ?? '', 'base64').toString('utf8'));
  }
  return names.map((name) => ({ name, content: found.get(name) ?? null }));
}
