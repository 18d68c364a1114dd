import type { Readable } from 'node:stream';
import type { ManifestEntry } from './types.js';

/**
 * A dependency set as the deployer describes it to a host. The host finishes the set's id with what only it
 * knows (its Python version, its Node ABI) and keeps one directory per id under `<deployTo>/deps/<kind>/`,
 * shared by every release that links to it. Built only when missing, so an unchanged set costs one command.
 */
export type DepsSpec = PythonDepsSpec | NodeDepsSpec;

export interface PythonDepsSpec {
  kind: 'python';
  /** sha256 over the requirements file, every wheel of the wheelhouse and the options: the deployer's half of the id. */
  key: string;
  interpreter: string;
  systemSitePackages: boolean;
  /** A wheelhouse ships: pip installs with --no-index from it only. */
  offline: boolean;
  /**
   * Modules the virtualenv must import once installed (the preset's server), with what to do when one is missing;
   * `name`: a class the module must define (the worker class).
   */
  imports: { module: string; name?: string; hint: string }[];
  /** What ships to build the set: requirements.txt and wheels/<file>, checked by sha256 on the host. */
  files: ManifestEntry[];
  openTar(): Readable;
}

/** Where the node_modules of a set must run: from the host (`node -p` there). */
export interface NodeTarget {
  /** process.versions.modules, e.g. '108' for Node 18. */
  abi: string;
  /** process.platform-process.arch, e.g. 'linux-x64'. */
  platform: string;
  /** process.versions.node, e.g. '18.20.4': which headers native addons are compiled against (not part of the set id). */
  version?: string;
}

export interface NodeDepsSpec {
  kind: 'node';
  /** sha256 over package.json and package-lock.json: the deployer's half of the id. */
  key: string;
  /**
   * Builds (once per target, on the deployer) the production node_modules for hosts of `target`: a gzipped tar
   * holding node_modules/, package.json and package-lock.json. Rejects with a message naming the package when
   * it cannot be built to run there.
   */
  build(target: NodeTarget): Promise<{ openTar(): Readable; files: number; bytes: number }>;
}

/** What prepare did about one set on one host. */
export interface DepsReport {
  kind: DepsSpec['kind'];
  /** The set's id on the host (directory name under deps/<kind>/). */
  set: string;
  /** True when this prepare built it; false when an existing set was linked. */
  created: boolean;
  durationMs: number;
}
