// Which hosts a lab of N has, and bringing one host from nothing to a booting container.
import path from 'node:path';
import { bootContainer } from './container.js';
import { createHostNetwork, isolatedAttachment, namespaceName, primaryAttachment, type NetworkAttachment } from './network.js';
import { mountOverlay } from './overlay.js';
import { hostDir } from './paths.js';
import { provisionHost } from './provision.js';

export const MAX_HOSTS = 40;

export interface HostPlan {
  name: string;
  index: number;
  netns: string;
  /** The first attachment is the host's address in lab.json (what ssh connects to). */
  attachments: NetworkAttachment[];
}

export function planHosts(count: number): HostPlan[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) throw new RangeError(`host count must be 1..${MAX_HOSTS}, got ${count}`);
  return Array.from({ length: count }, (_, i) => {
    const index = i + 1;
    const name = `web${index}`;
    return { name, index, netns: namespaceName(name), attachments: [primaryAttachment(name, index)] };
  });
}

/**
 * `count` isolated hosts after the `primaryCount` primary ones: web<primaryCount+1>.., each only on the isolated
 * bridge (web4 = 10.213.38.14 after 3 primary hosts), so their names and addresses never collide.
 */
export function planIsolatedHosts(primaryCount: number, count: number): HostPlan[] {
  if (!Number.isInteger(count) || count < 0 || primaryCount + count > MAX_HOSTS) {
    throw new RangeError(`isolated host count must be 0..${MAX_HOSTS - primaryCount}, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => {
    const index = primaryCount + i + 1;
    const name = `web${index}`;
    return { name, index, netns: namespaceName(name), attachments: [isolatedAttachment(name, index)] };
  });
}

export function primaryAddress(plan: HostPlan): string {
  return plan.attachments[0]!.address;
}

export interface StartedHost {
  plan: HostPlan;
  nspawnPid: number;
  hostKeys: string[];
}

/**
 * Overlay → files → network → boot. Returns once nspawn runs; waiting for the boot is the caller's job.
 * `peers` go into /etc/hosts: the other hosts' plans (by primary address), or name/address pairs.
 */
export async function startHost(
  plan: HostPlan,
  rootfs: string,
  clientPublicKey: string,
  peers: Array<HostPlan | { name: string; address: string }>,
): Promise<StartedHost> {
  const root = await mountOverlay(plan.name, rootfs);
  const hostKeys = await provisionHost({
    root,
    name: plan.name,
    clientPublicKey,
    peers: peers.map((p) => ('address' in p ? p : { name: p.name, address: primaryAddress(p) })),
  });
  await createHostNetwork(plan.name, plan.attachments);
  const nspawnPid = bootContainer({ name: plan.name, root, netns: plan.netns, logFile: path.join(hostDir(plan.name), 'nspawn.log') });
  return { plan, nspawnPid, hostKeys };
}
