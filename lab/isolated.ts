// Hosts the root namespace cannot reach: on a second bridge (ISOLATED_NETWORK, 10.213.38.0/24) that has no
// address here, with an `unreachable` route for its subnet, so a direct connection fails at once. The jump host
// (web1) gets a second leg on that bridge; ssh reaches the isolated hosts only through it (ProxyJump).
//
// Works on a running lab too (`npm run lab -- isolate M`): the jump host's new interface appears live, and the
// primary hosts are not restarted, so suites using them keep running.
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execInContainer, findContainerInit, waitForBoot } from './container.js';
import { LabError, log, seconds } from './exec.js';
import { planIsolatedHosts, primaryAddress, startHost, type HostPlan } from './hosts.js';
import { knownHostsLines } from './keys.js';
import type { LabInfo } from './lab-file.js';
import { ISOLATED_NETWORK, attachNetwork, ensureBridge, ensureUnreachableRoute, jumpAttachment } from './network.js';
import { IDENTITY_FILE, KNOWN_HOSTS_FILE, hostDir } from './paths.js';
import { waitForSsh } from './ssh.js';

const BOOT_DEADLINE_MS = 180_000;
export const JUMP_HOST = 'web1';

/** Boots `count` isolated hosts next to the running primary ones; returns the lab description to write. */
export async function startIsolatedHosts(info: LabInfo, count: number): Promise<LabInfo> {
  if (info.isolated) throw new LabError(`the lab already has isolated hosts (${info.isolated.hosts.map((h) => h.name).join(', ')})`, 'run `npm run lab -- up N --isolated M` for a fresh lab');
  const jump = info.hosts.find((h) => h.name === JUMP_HOST);
  if (!jump) throw new LabError(`isolated hosts need the jump host ${JUMP_HOST}, which is not in the lab`);
  const plans = planIsolatedHosts(info.hosts.length, count);
  const leg = jumpAttachment(JUMP_HOST, 1);

  await ensureBridge(ISOLATED_NETWORK);
  await ensureUnreachableRoute(ISOLATED_NETWORK);
  await attachNetwork(jump.netns, leg);

  const startedAt = process.hrtime.bigint();
  log(`starting ${count} isolated host(s) on ${ISOLATED_NETWORK.bridge} (${ISOLATED_NETWORK.subnet}), reachable through ${JUMP_HOST} (${leg.address})`);
  const clientPublicKey = (await readFile(`${IDENTITY_FILE}.pub`, 'utf8')).trim();
  const peers = [{ name: JUMP_HOST, address: leg.address }, ...plans];
  for (const plan of plans) await mkdir(hostDir(plan.name), { recursive: true });
  const started = await Promise.all(plans.map((plan) => startHost(plan, info.rootfs, clientPublicKey, peers)));
  for (const host of started) await writeFile(path.join(hostDir(host.plan.name), 'nspawn.pid'), `${host.nspawnPid}\n`);
  // Appended: the primary hosts' lines stay as they are for anyone reading the file meanwhile.
  await appendFile(KNOWN_HOSTS_FILE, `${started.flatMap((h) => knownHostsLines(primaryAddress(h.plan), h.hostKeys)).join('\n')}\n`);
  await nameOnJumpHost(jump.netns, plans);

  const deadline = Date.now() + BOOT_DEADLINE_MS;
  await Promise.all(started.map((h) => waitForBoot(h.plan.name, h.plan.netns, h.nspawnPid, deadline)));
  await Promise.all(started.map((h) => waitForSsh(h.plan.name, primaryAddress(h.plan), deadline, jump.netns)));
  log(`${count} isolated host(s) answering ssh through ${JUMP_HOST} after ${seconds(startedAt)}`);

  return {
    ...info,
    isolated: {
      bridge: ISOLATED_NETWORK.bridge,
      subnet: ISOLATED_NETWORK.subnet,
      jumpHost: JUMP_HOST,
      jumpAddress: leg.address,
      hosts: started.map((h) => ({
        name: h.plan.name,
        address: primaryAddress(h.plan),
        users: ['root', 'deploy'],
        sshPort: 22,
        netns: h.plan.netns,
        nspawnPid: h.nspawnPid,
      })),
    },
  };
}

/** The jump host resolves the isolated hosts by name too (`ProxyJump web1` then `web4` from there). */
async function nameOnJumpHost(netns: string, plans: HostPlan[]): Promise<void> {
  const init = await findContainerInit(netns);
  if (!init) throw new LabError(`${JUMP_HOST} is not running`);
  const lines = plans.map((p) => `${primaryAddress(p)}\t${p.name}`).join('\n');
  const result = await execInContainer(init, ['sh', '-c', 'printf "%s\\n" "$1" >> /etc/hosts', 'sh', lines]);
  if (!result.ok) throw new LabError(`cannot name the isolated hosts in ${JUMP_HOST}'s /etc/hosts: ${result.stderr.trim()}`);
}
