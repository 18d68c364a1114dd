/**
 * `server.python` and `server.npm`: the app's dependencies, installed on each host once per dependency set
 * (src/build/python-deps.ts, src/build/node-deps.ts) and shared by every release with the same set.
 * Local paths are relative to the config file, like build.dir.
 */
import * as z from 'zod';

/** A name on the hosts' PATH or an absolute path: it is written into shell scripts unquoted-safe. */
const INTERPRETER = /^[A-Za-z0-9._+/-]+$/;

export const pythonSchema = z
  .strictObject({
    requirements: z
      .string()
      .min(1, 'is empty: expected a pip requirements file like "requirements.txt"')
      .default('requirements.txt')
      .describe('pip requirements file (relative to the config file), installed with `pip install -r` into one virtualenv per dependency set on each host.'),
    wheelhouse: z
      .string()
      .min(1, 'is empty: expected a directory of wheels like "wheels"')
      .optional()
      .describe(
        'Directory of wheels (relative to the config file, e.g. made by `pip wheel -r requirements.txt -w wheels`) shipped to the hosts, which install offline from it (`pip install --no-index --find-links`). Without it hosts install from their configured package index.',
      ),
    systemSitePackages: z
      .boolean()
      .default(false)
      .describe("The virtualenv also sees the system's packages (e.g. Debian's gunicorn and python3-uvicorn): only what is missing there is installed."),
    interpreter: z
      .string()
      .regex(INTERPRETER, '%v is not an interpreter: expected a command name like "python3" or an absolute path like "/usr/bin/python3.11"')
      .default('python3')
      .describe('Python on the hosts that creates the virtualenvs (and runs the app); its version is part of the dependency set.'),
  })
  .describe('Python dependencies: a virtualenv per dependency set on each host, reused by releases with the same requirements, wheelhouse and interpreter.');

export const npmSchema = z
  .strictObject({
    lockfile: z
      .string()
      .min(1, 'is empty: expected "package-lock.json"')
      .default('package-lock.json')
      .describe('package-lock.json (relative to the config file; package.json beside it). Production dependencies (`npm ci --omit=dev`) are built on the deployer per dependency set and linked as node_modules into each release.'),
    nodedir: z
      .string()
      .min(1, 'is empty: expected a directory holding include/node/')
      .optional()
      .describe(
        "Headers of the hosts' Node version (a directory holding include/node/, as `node-gyp --nodedir` takes; e.g. Debian's libnode-dev unpacked): native addons are then compiled here for the hosts when this machine runs another Node major version. Without it such addons are refused.",
      ),
  })
  .describe('Node dependencies: node_modules per dependency set (lock file and the hosts\' Node ABI), reused across releases.');
