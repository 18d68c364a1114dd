import { listConfigKeys, type ConfigKeyInfo } from '../config/schema.js';
import type { Preset } from '../config/types.js';
import type { TypeScriptProject } from './typescript-project.js';

/**
 * The commented `deploy.config.ts` that `shipit init` writes. Every comment is the key's description from the
 * schema (the one source of truth) and every commented-out value is its default, so the file documents itself
 * and cannot drift from what shipit does. The keys a project must decide on are active; the rest are shown
 * commented out with their defaults.
 */
export const PRESETS: readonly Preset[] = ['gunicorn', 'node', 'command'];

type Literal = string | number | boolean | null | Literal[] | { [key: string]: Literal };

interface PresetChoice {
  /** Active values, by key path. */
  values: Record<string, Literal>;
  /** Commented-out examples for keys without a default, by key path. */
  examples: Record<string, Literal>;
  /** Keys that mean nothing for this preset: left out. */
  omit: string[];
}

const GUNICORN_ONLY = ['server.workerClass', 'server.timeout', 'server.keepAlive', 'server.forwardedAllowIps', 'server.python'];

function choices(preset: Preset, app: string, ts?: TypeScriptProject): PresetChoice {
  const common = {
    app,
    'build.dir': '.',
    'server.preset': preset,
    'server.port': 8000,
    'server.workers': 'auto',
    'server.env': { LOG_LEVEL: 'info' },
    'health.liveness': '/healthz',
    'health.readiness': '/readyz',
  };
  // Every optional key without a default needs an example: without one, a commented-out block showed its
  // description followed by the next key's line (read as that key's), and an active block left it out.
  const examples = {
    deployTo: `/srv/${app}`,
    'server.user': app,
    'ssh.configFile': '~/.ssh/config',
    'server.python.wheelhouse': 'wheels',
    'server.npm.nodedir': 'vendor/libnode-dev/usr',
  };
  switch (preset) {
    case 'gunicorn':
      return {
        values: { ...common, 'server.module': 'app.main:app' },
        examples: { ...examples, 'build.command': './scripts/build.sh' },
        omit: ['server.command', 'server.notify', 'server.npm'],
      };
    case 'node':
      // build.dir '.' holds the laptop's node_modules (dev dependencies, this machine's native builds) or none:
      // with server.npm it never ships, and the lock file's production set is built for the hosts instead.
      // A TypeScript project ships tsc's outDir, with a package.json saying "type": "module" when the
      // project's does (it stays behind, above build.dir: see src/cli/release.ts checkNodeEntry).
      if (ts !== undefined) {
        const command = ts.esm ? `${ts.command} && echo '{"type":"module"}' > ${ts.outDir}/package.json` : ts.command;
        return {
          values: { ...common, 'build.command': command, 'build.dir': ts.outDir, 'server.module': ts.entry, 'server.npm.lockfile': 'package-lock.json' },
          examples,
          omit: ['server.command', 'server.notify', ...GUNICORN_ONLY],
        };
      }
      return {
        values: { ...common, 'server.module': 'server.js', 'server.npm.lockfile': 'package-lock.json' },
        examples: { ...examples, 'build.command': 'npm ci && npm run build' },
        omit: ['server.command', 'server.notify', ...GUNICORN_ONLY],
      };
    case 'command':
      return {
        values: { ...common, 'server.command': './bin/server --fd 3' },
        examples: { ...examples, 'build.command': 'make' },
        omit: ['server.module', 'server.workerClass', 'server.timeout', 'server.keepAlive', 'server.forwardedAllowIps'],
      };
  }
}

/** Keys `shipit init` leaves out for a preset (they mean nothing to it, and the validator rejects some). */
export function omittedKeys(preset: Preset): string[] {
  return choices(preset, 'app').omit;
}

export function renderInitConfig(preset: Preset, app: string, ts?: TypeScriptProject): string {
  const keys = listConfigKeys();
  const choice = choices(preset, app, ts);
  const out: string[] = [
    `// deploy.config.ts for ${app}, written by \`shipit init --preset ${preset}\`.`,
    '// Each comment is the key\'s documentation; a commented-out key shows its default (or an example).',
    '// Check it without touching a host: `shipit units production`, then `shipit plan production`.',
    "import { defineConfig } from 'shipit';",
    '',
    'export default defineConfig({',
  ];
  const childrenOf = (path: string) => keys.filter((k) => k.path.startsWith(`${path}.`) && k.path.split('.').length === path.split('.').length + 1);
  const hasActive = (path: string) => Object.keys(choice.values).some((p) => p.startsWith(`${path}.`)) || path === 'server';
  const emit = (key: ConfigKeyInfo, depth: number) => {
    const indent = '  '.repeat(depth);
    const name = key.path.split('.').at(-1)!;
    const children = childrenOf(key.path);
    if (choice.omit.some((omitted) => key.path === omitted || key.path.startsWith(`${omitted}.`))) return;
    const comment = wrap(key.description, 110 - indent.length - 3).map((line) => `${indent}// ${line}`);
    if (children.length > 0 && !hasActive(key.path)) {
      // Nothing to decide in here: the whole block is shown commented out, with its defaults.
      out.push(...comment, `${indent}// ${name}: {`);
      for (const child of children) {
        out.push(...wrap(child.description, 110 - indent.length - 8).map((line) => `${indent}//   // ${line}`));
        const value = choice.examples[child.path] ?? (child.default as Literal | undefined);
        if (value !== undefined) out.push(`${indent}//   ${child.path.split('.').at(-1)}: ${literal(value)},`);
      }
      out.push(`${indent}// },`);
      return;
    }
    if (children.length > 0) {
      out.push(...comment, `${indent}${name}: {`);
      for (const child of children) emit(child, depth + 1);
      out.push(`${indent}},`);
      return;
    }
    if (Object.hasOwn(choice.values, key.path)) {
      out.push(...comment, `${indent}${name}: ${literal(choice.values[key.path]!)},`);
    } else if (key.path === 'server.secrets') {
      out.push(...comment, `${indent}${name}: {`, `${indent}  // DATABASE_URL: process.env.DATABASE_URL,`, `${indent}},`);
    } else if (Object.hasOwn(choice.examples, key.path)) {
      out.push(...comment, `${indent}// ${name}: ${literal(choice.examples[key.path]!)},`);
    } else if (key.default !== undefined) {
      out.push(...comment, `${indent}// ${name}: ${literal(key.default as Literal)},`);
    }
  };
  for (const key of keys.filter((k) => !k.path.includes('.') && k.path !== 'environments')) emit(key, 1);
  const environments = keys.find((k) => k.path === 'environments')!;
  const hosts = keys.find((k) => k.path === 'environments.<name>.hosts')!;
  out.push(
    ...wrap(environments.description, 105).map((line) => `  // ${line}`),
    '  environments: {',
    '    production: {',
    ...wrap(hosts.description, 100).map((line) => `      // ${line}`),
    "      hosts: ['deploy@web1.example.com', 'deploy@web2.example.com'],",
    '    },',
    '  },',
    '});',
    '',
  );
  return out.join('\n');
}

/** A TypeScript literal: single-quoted strings, as a person would write it. */
function literal(value: Literal): string {
  // A command with single quotes in it (echo '{"type":"module"}') reads better in backquotes than escaped.
  if (typeof value === 'string' && value.includes("'") && !/[`\\]|\$\{/.test(value)) return `\`${value}\``;
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : literal(k)}: ${literal(v)}`).join(', ')} }`;
  }
  return String(value);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** An app name from a directory name: lowercase letters, digits and dashes, starting with a letter. */
export function appNameFrom(dirName: string): string {
  const name = dirName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return name || 'app';
}
