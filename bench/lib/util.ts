import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** Scratch space outside the clone: artifacts, configs, the shipit snapshot, tool state. */
export const WORK = process.env.SHIPIT_BENCH_WORK ?? '/var/tmp/shipit-bench';
export const RESULTS = resolve(ROOT, 'bench/results');

export function workDir(...parts: string[]): string {
  const dir = resolve(WORK, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const t0 = Date.now();
export function log(message: string): void {
  process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '–');
export const mib = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} MiB` : '–');
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n < 10_000) return `${n} B`;
  if (n < 10_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** A plain-text table: header row, then rows; columns padded, numbers right-aligned. */
export function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const fmt = (r: string[], i: number) =>
    r.map((cell, c) => (i > 0 && c > 0 && /^[-\d.,<>≤×%]/.test(cell) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  const lines = cells.map(fmt);
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return `\n${title}\n${lines.join('\n')}\n`;
}
