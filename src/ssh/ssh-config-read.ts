/**
 * Reading an SSH config for ssh-config.ts: the user's file then the system's, each `Include` expanded in place
 * (globs, sorted; relative to ~/.ssh for the user's files, /etc/ssh for the system's; at most 16 deep, like
 * OpenSSH's READCONF_MAX_DEPTH), into a tree that both resolution passes walk. Files come through the reader.
 */
import { lexSshConfig, sshConfigError, type SshConfigDirective } from './ssh-config-lexer.js';
import type { SshConfigContext, SshConfigReader, SshConfigSource } from './ssh-config.js';
import { expandTilde } from './ssh-tokens.js';

const MAX_INCLUDE_DEPTH = 16;
const SYSTEM_DIR = '/etc/ssh';

export type ConfigNode = { kind: 'directive'; directive: SshConfigDirective } | { kind: 'include'; directive: SshConfigDirective; files: ConfigFile[] };
export interface ConfigFile {
  nodes: ConfigNode[];
}

export function readSshConfig(source: SshConfigSource, ctx: SshConfigContext): ConfigFile[] {
  const files: ConfigFile[] = [];
  for (const [path, userConf] of [
    [source.userFile, true],
    [source.systemFile, false],
  ] as const) {
    if (path === undefined) continue;
    const node = readFile(path, userConf, 0, source.reader, ctx);
    if (node) files.push(node);
  }
  return files;
}

function readFile(path: string, userConf: boolean, depth: number, reader: SshConfigReader, ctx: SshConfigContext): ConfigFile | undefined {
  const text = reader.read(path);
  if (text === undefined) return undefined;
  const shown = tildeName(path, ctx.home);
  const nodes: ConfigNode[] = lexSshConfig(text, shown).map((directive): ConfigNode => {
    if (directive.keyword !== 'include') return { kind: 'directive', directive };
    if (depth + 1 > MAX_INCLUDE_DEPTH) throw sshConfigError(directive.file, directive.line, `too many recursive Includes (more than ${MAX_INCLUDE_DEPTH})`);
    const included: ConfigFile[] = [];
    for (const arg of directive.args) {
      const expanded = expandTilde(arg, ctx.home);
      const pattern = expanded.startsWith('/') ? expanded : `${userConf ? `${ctx.home.replace(/\/+$/, '')}/.ssh` : SYSTEM_DIR}/${expanded}`;
      for (const match of reader.glob(pattern)) {
        const node = readFile(match, userConf, depth + 1, reader, ctx);
        if (node) included.push(node);
      }
    }
    return { kind: 'include', directive, files: included };
  });
  return { nodes };
}

function tildeName(path: string, home: string): string {
  const base = home.replace(/\/+$/, '');
  return base !== '' && path.startsWith(`${base}/`) ? `~${path.slice(base.length)}` : path;
}
