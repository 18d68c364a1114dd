// `lab up N [--isolated M]`: a fresh lab of N hosts (plus M reachable only through web1, see isolated.ts). An
// existing (or half-torn-down) lab is torn down first: `up` always yields a lab whose keys, overlays and
// containers are all new, so tests never see state from an earlier run.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitForBoot } from './container.js';
import { log, seconds } from './exec.js';
import { planHosts, planIsolatedHosts, primaryAddress, startHost } from './hosts.js';
import { generateClientKey, knownHostsLines, writeKnownHosts } from './keys.js';
import { readLabFile, writeLabFile, type LabInfo } from './lab-file.js';
import { labPssMiB } from './memory.js';
import { ensureBridge, PRIMARY_NETWORK } from './network.js';
import { HOSTS_DIR, IDENTITY_FILE, KNOWN_HOSTS_FILE, STATE_DIR, hostDir } from './paths.js';
import { checkPrerequisites } from './prerequisites.js';
import { ensureRootfs } from './rootfs.js';
import { startIsolatedHosts } from './isolated.js';
import { waitForSsh } from './ssh.js';
import { findLeftovers, isClean, teardown } from './teardown.js';

/** Generous: 12 hosts booting at once on 2 cores take far less, but CI machines vary. */
const BOOT_DEADLINE_MS = 180_000;

/** `isolated` > 0 adds that many hosts reachable only through web1 (isolated.ts), once the others are up. */
export async function labUp(count: number, isolated = 0): Promise<LabInfo> {
  const plans = planHosts(count);
  planIsolatedHosts(count, isolated); // validates the count before anything is torn down
  await checkPrerequisites();
  if (readLabFile() || !isClean(await findLeftovers())) {
    log('a lab (or what a killed run left) exists: tearing it down first');
    await teardown();
  }
  const rootfs = await ensureRootfs();

  await mkdir(HOSTS_DIR, { recursive: true });
  for (const plan of plans) await mkdir(hostDir(plan.name), { recursive: true });
  const clientPublicKey = await generateClientKey(IDENTITY_FILE);
  await ensureBridge(PRIMARY_NETWORK);

  const bootStartedAt = process.hrtime.bigint();
  log(`starting ${count} host(s)`);
  const started = await Promise.all(plans.map((plan) => startHost(plan, rootfs, clientPublicKey, plans)));
  for (const host of started) await writeFile(path.join(hostDir(host.plan.name), 'nspawn.pid'), `${host.nspawnPid}\n`);
  await writeKnownHosts(KNOWN_HOSTS_FILE, started.flatMap((h) => knownHostsLines(primaryAddress(h.plan), h.hostKeys)));

  const deadline = Date.now() + BOOT_DEADLINE_MS;
  await Promise.all(started.map((h) => waitForBoot(h.plan.name, h.plan.netns, h.nspawnPid, deadline)));
  const bootTime = seconds(bootStartedAt);
  await Promise.all(started.map((h) => waitForSsh(h.plan.name, primaryAddress(h.plan), deadline)));
  const sshTime = seconds(bootStartedAt);

  const info: LabInfo = {
    hosts: started.map((h) => ({
      name: h.plan.name,
      address: primaryAddress(h.plan),
      users: ['root', 'deploy'],
      sshPort: 22,
      netns: h.plan.netns,
      nspawnPid: h.nspawnPid,
    })),
    identityFile: IDENTITY_FILE,
    knownHostsFile: KNOWN_HOSTS_FILE,
    bridge: PRIMARY_NETWORK.bridge,
    subnet: PRIMARY_NETWORK.subnet,
    gateway: PRIMARY_NETWORK.gateway!,
    rootfs,
    createdAt: new Date().toISOString(),
  };
  log(`${count} host(s) running after ${bootTime}, sshd answering after ${sshTime}`);
  const full = isolated > 0 ? await startIsolatedHosts(info, isolated) : info;
  await writeLabFile(full);
  const all = [...full.hosts, ...(full.isolated?.hosts ?? [])];
  const pss = await labPssMiB(all.map((h) => h.netns), all.map((h) => h.nspawnPid));
  log(`memory: ${pss} MiB (PSS of the hosts' processes)`);
  log(`lab description: ${path.join(STATE_DIR, 'lab.json')}`);
  return full;
}
