// Finds the Debian mirror this machine's apt uses, so debootstrap fetches from a mirror known to be reachable.
// Reads deb822 files (/etc/apt/sources.list.d/*.sources) and one-line files (sources.list, *.list).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface AptSource {
  uri: string;
  suites: string[];
}

export function parseDeb822(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    if (fields.get('enabled') === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) sources.push({ uri, suites });
  }
  return sources;
}

export function parseOneLine(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').replace(/\[[^\]]*\]/, '').trim();
    const [type, uri, suite] = line.split(/\s+/);
    if (type === 'deb' && uri && suite) sources.push({ uri, suites: [suite] });
  }
  return sources;
}

function readSources(dir = '/etc/apt'): AptSource[] {
  const files: string[] = [path.join(dir, 'sources.list')];
  try {
    for (const name of readdirSync(path.join(dir, 'sources.list.d')).sort()) files.push(path.join(dir, 'sources.list.d', name));
  } catch {
    // no sources.list.d
  }
  const sources: AptSource[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.sources')) sources.push(...parseDeb822(text));
    else if (file.endsWith('.list')) sources.push(...parseOneLine(text));
  }
  return sources;
}

/**
 * The mirror that serves `suite` (e.g. bookworm) for this machine's apt. Falls back to any Debian archive URI
 * (a machine on another release still points at a mirror holding bookworm). `SHIPIT_LAB_MIRROR` overrides.
 */
export function findDebianMirror(suite: string, sources: AptSource[] = readSources()): string {
  if (process.env.SHIPIT_LAB_MIRROR) return process.env.SHIPIT_LAB_MIRROR;
  const main = sources.filter((s) => !/security/.test(s.uri) && !s.suites.some((x) => x.includes('security')));
  const exact = main.find((s) => s.suites.includes(suite));
  const any = exact ?? main.find((s) => /\/debian\/?$/.test(s.uri)) ?? main[0];
  return any?.uri ?? 'http://deb.debian.org/debian';
}
