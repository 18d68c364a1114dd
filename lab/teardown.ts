// Removing everything the lab made, including what a killed `up` left behind. Idempotent: finding nothing is
// success. Order matters: processes before mounts (a running container keeps its root busy), mounts before the
// state dir (never recurse into a mounted overlay), namespaces before links (deleting a namespace deletes the
// veth ends inside it, and with them their peers).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { findLabNspawnPids, killNamespaceProcesses, processAlive, stopContainer } from './container.js';
import { LabError, log, sleep } from './exec.js';
import { readLabFile } from './lab-file.js';
import { mountPointsUnder, unmountAllUnder } from './mounts.js';
import {
  deleteLink,
  deleteNamespace,
  deleteUnreachableRoute,
  listLabLinks,
  listLabNamespaces,
  listUnreachableRoutes,
  namespacePids,
} from './network.js';
import { HOSTS_DIR, NAME_PREFIX, STATE_DIR } from './paths.js';

export interface Leftovers {
  processes: number[];
  namespaces: string[];
  links: string[];
  mounts: string[];
  /** `unreachable` routes of the isolated bridge's subnet in the root namespace. */
  routes: string[];
  stateDir: boolean;
}

function labMounts(): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(NAME_PREFIX) || line.includes(`${STATE_DIR}/`));
}

export async function findLeftovers(): Promise<Leftovers> {
  const namespaces = await listLabNamespaces();
  const processes = new Set(findLabNspawnPids());
  for (const ns of namespaces) for (const pid of await namespacePids(ns)) processes.add(pid);
  return {
    processes: [...processes],
    namespaces,
    links: await listLabLinks(),
    mounts: labMounts(),
    routes: await listUnreachableRoutes(),
    stateDir: existsSync(STATE_DIR),
  };
}

export function isClean(left: Leftovers): boolean {
  return left.processes.length + left.namespaces.length + left.links.length + left.mounts.length + left.routes.length === 0 && !left.stateDir;
}

function recordedNspawnPids(): number[] {
  const pids = new Set<number>(readLabFile()?.hosts.map((h) => h.nspawnPid) ?? []);
  const dirs = existsSync(HOSTS_DIR) ? readdirSync(HOSTS_DIR) : [];
  for (const dir of dirs) {
    const file = path.join(HOSTS_DIR, dir, 'nspawn.pid');
    if (existsSync(file)) pids.add(Number(readFileSync(file, 'utf8')));
  }
  // Only trust a recorded pid that is still one of our nspawn processes (pids get reused).
  const ours = new Set(findLabNspawnPids());
  return [...pids].filter((pid) => ours.has(pid)).concat([...ours].filter((pid) => !pids.has(pid)));
}

/**
 * A stopped nspawn stays a zombie until its parent reaps it; once `up` has exited that parent is this machine's
 * init, which may reap late. Waiting a little keeps "no lab process is left" true when `down` returns.
 */
async function waitUntilReaped(pids: number[], timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < until) await sleep(100);
}

export async function teardown(): Promise<void> {
  const nspawns = recordedNspawnPids();
  if (nspawns.length > 0) log(`stopping ${nspawns.length} container(s)`);
  const clean = await Promise.all(nspawns.map((pid) => stopContainer(pid)));
  if (clean.includes(false)) log('some containers did not halt in time and were killed');
  await waitUntilReaped(nspawns);

  for (const ns of await listLabNamespaces()) await killNamespaceProcesses(ns);
  await unmountAllUnder(STATE_DIR);
  for (const ns of await listLabNamespaces()) await deleteNamespace(ns);
  // Veths first, bridges last (a bridge with ports can be deleted too, but this keeps the log readable).
  const links = await listLabLinks();
  for (const link of links.filter((l) => !/^shipitlab\d+$/.test(l))) await deleteLink(link);
  for (const link of links.filter((l) => /^shipitlab\d+$/.test(l))) await deleteLink(link);
  for (const subnet of await listUnreachableRoutes()) await deleteUnreachableRoute(subnet);

  const stillMounted = mountPointsUnder(STATE_DIR);
  if (stillMounted.length > 0) throw new LabError(`still mounted, not removing ${STATE_DIR}: ${stillMounted.join(', ')}`);
  await rm(STATE_DIR, { recursive: true, force: true });

  const left = await findLeftovers();
  if (!isClean(left)) {
    const alive = left.processes.filter(processAlive);
    throw new LabError(`teardown left things behind: ${JSON.stringify({ ...left, processes: alive })}`);
  }
}
