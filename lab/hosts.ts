// Which hosts a lab of N has, and bringing one host from nothing to a booting container.
import path from 'node:path';
import { bootContainer } from './container.js';
import { createHostNetwork, namespaceName, primaryAttachment, type NetworkAttachment } from './network.js';
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

export function primaryAddress(plan: HostPlan): string {
  return plan.attachments[0]!.address;
}

export interface StartedHost {
  plan: HostPlan;
  nspawnPid: number;
  hostKeys: string[];
}

/** Overlay → files → network → boot. Returns once nspawn runs; waiting for the boot is the caller's job. */
export async function startHost(plan: HostPlan, rootfs: string, clientPublicKey: string, all: HostPlan[]): Promise<StartedHost> {
  const root = await mountOverlay(plan.name, rootfs);
  const hostKeys = await provisionHost({
    root,
    name: plan.name,
    clientPublicKey,
    peers: all.map((p) => ({ name: p.name, address: primaryAddress(p) })),
  });
  await createHostNetwork(plan.name, plan.attachments);
  const nspawnPid = bootContainer({ name: plan.name, root, netns: plan.netns, logFile: path.join(hostDir(plan.name), 'nspawn.log') });
  return { plan, nspawnPid, hostKeys };
}
