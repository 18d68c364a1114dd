// The artifact every tool ships: examples/fastapi padded with deterministic assets to a given size and file
// count. Half the padding is text (compresses ~3×, like source and templates), half is random bytes (does not
// compress, like images): gzip and rsync see what a real release looks like, and every run sees the same bytes.
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './util.js';

export interface ArtifactShape {
  files: number;
  bytes: number;
}

export const SMALL: ArtifactShape = { files: 200, bytes: 2_000_000 };
export const LARGE: ArtifactShape = { files: 2_000, bytes: 20_000_000 };

/** xorshift32: the same padding on every machine and run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const WORDS = 'async await return import from class def self request response release deploy config host port worker socket health ready value items index data json status error timeout retry cache session user token'.split(' ');

function textPad(size: number, next: () => number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const line = Array.from({ length: 8 }, () => `${WORDS[next() % WORDS.length]}_${(next() % 4096).toString(16)}`).join(' ') + '\n';
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('').slice(0, size));
}

function binaryPad(size: number, next: () => number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) buf.writeUInt32LE(next(), i);
  return buf;
}

/**
 * Writes the artifact into `dir` (replacing it): the app, its VERSION, an optional fault, and padding so that the
 * whole tree has `shape.files` files and about `shape.bytes` bytes.
 */
export function writeArtifact(dir: string, shape: ArtifactShape, version: string, fault?: 'never-ready'): void {
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(ROOT, 'examples/fastapi'), dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  setVersion(dir, version, fault);
  const appFiles = 6;
  const count = shape.files - appFiles;
  const each = Math.floor(shape.bytes / count);
  const next = prng(0x5eed + shape.files);
  for (let i = 0; i < count; i++) {
    const sub = join(dir, 'assets', String(Math.floor(i / 100)).padStart(2, '0'));
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const name = `${String(i).padStart(5, '0')}.${i % 2 ? 'bin' : 'txt'}`;
    writeFileSync(join(sub, name), i % 2 ? binaryPad(each, next) : textPad(each, next));
  }
}

/** The one-file change between two releases (what /readyz reports), and the never-ready fault. */
export function setVersion(dir: string, version: string, fault?: 'never-ready'): void {
  writeFileSync(join(dir, 'app/VERSION'), `${version}\n`);
  const faultFile = join(dir, 'app/FAULT');
  if (fault) writeFileSync(faultFile, `${fault}\n`);
  else rmSync(faultFile, { force: true });
}
