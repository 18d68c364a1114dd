// The lab network: a Linux bridge in the root namespace and, per host, a network namespace joined to it by a
// veth pair. Addresses and routes are set from outside (ip netns exec / ip -n) before the container boots;
// nothing inside the container manages interfaces (see provision.ts), so systemd there cannot tear them down.
//
// A host may sit on more than one LabNetwork: attachments are a list, each names its network and the interface
// inside the host. ISOLATED_NETWORK is a second bridge with no address in the root namespace: its hosts are
// reachable only through the jump host attached to both bridges (`up N --isolated M`, see isolated.ts).
import { readdirSync } from 'node:fs';
import { run, tryRun } from './exec.js';
import { NAME_PREFIX } from './paths.js';

export interface LabNetwork {
  bridge: string;
  /** e.g. 10.213.37.0/24 */
  subnet: string;
  /** The bridge's own address: the hosts' default route and how the root namespace reaches them. Omit it for an
   * isolated network the root namespace must not reach. */
  gateway?: string;
  /** A host with index i (web<i>) gets `<network prefix>.<hostOffset + i>`. */
  hostOffset: number;
}

export const PRIMARY_NETWORK: LabNetwork = {
  bridge: `${NAME_PREFIX}0`,
  subnet: '10.213.37.0/24',
  gateway: '10.213.37.1',
  hostOffset: 10,
};

/**
 * The isolated bridge: no gateway, so the root namespace has no address on it, and an `unreachable` route for
 * its subnet (ensureUnreachableRoute) makes a direct connection fail at once instead of leaving by eth0.
 */
export const ISOLATED_NETWORK: LabNetwork = {
  bridge: `${NAME_PREFIX}1`,
  subnet: '10.213.38.0/24',
  hostOffset: 10,
};

export interface NetworkAttachment {
  network: LabNetwork;
  /** Interface name inside the host's namespace. */
  iface: string;
  /** Host-side end of the veth pair; at most 15 characters (IFNAMSIZ). */
  veth: string;
  address: string;
  /** Whether the host's default route goes through this network's gateway. */
  defaultRoute: boolean;
}

export function prefixLength(network: LabNetwork): number {
  return Number(network.subnet.split('/')[1]);
}

export function hostAddress(network: LabNetwork, index: number): string {
  const base = network.subnet.split('/')[0]!.split('.').map(Number);
  const last = base[3]! + network.hostOffset + index;
  if (index < 1 || last > 254) throw new Error(`host index ${index} does not fit in ${network.subnet}`);
  return [base[0], base[1], base[2], last].join('.');
}

export function namespaceName(host: string): string {
  return `${NAME_PREFIX}-${host}`;
}

export function primaryAttachment(host: string, index: number): NetworkAttachment {
  const veth = `${NAME_PREFIX}-${host}`;
  if (veth.length > 15) throw new Error(`host name "${host}" is too long for an interface name (${veth})`);
  return { network: PRIMARY_NETWORK, iface: 'eth0', veth, address: hostAddress(PRIMARY_NETWORK, index), defaultRoute: true };
}

/** An isolated-only host: its one interface is on the isolated bridge, with no default route anywhere. */
export function isolatedAttachment(host: string, index: number): NetworkAttachment {
  const veth = `${NAME_PREFIX}-${host}`;
  if (veth.length > 15) throw new Error(`host name "${host}" is too long for an interface name (${veth})`);
  return { network: ISOLATED_NETWORK, iface: 'eth0', veth, address: hostAddress(ISOLATED_NETWORK, index), defaultRoute: false };
}

/** The jump host's second leg: `eth1` on the isolated bridge, next to its primary `eth0`. */
export function jumpAttachment(host: string, index: number): NetworkAttachment {
  const veth = `${NAME_PREFIX}1-${host}`;
  if (veth.length > 15) throw new Error(`host name "${host}" is too long for an interface name (${veth})`);
  return { network: ISOLATED_NETWORK, iface: 'eth1', veth, address: hostAddress(ISOLATED_NETWORK, index), defaultRoute: false };
}

export async function ensureBridge(network: LabNetwork): Promise<void> {
  const exists = await tryRun(['ip', 'link', 'show', 'dev', network.bridge]);
  if (!exists.ok) await run(['ip', 'link', 'add', 'name', network.bridge, 'type', 'bridge']);
  if (network.gateway) {
    const cidr = `${network.gateway}/${prefixLength(network)}`;
    const addrs = await run(['ip', '-o', 'addr', 'show', 'dev', network.bridge]);
    if (!addrs.includes(` ${cidr} `)) await run(['ip', 'addr', 'add', cidr, 'dev', network.bridge]);
  }
  await run(['ip', 'link', 'set', 'dev', network.bridge, 'up']);
}

/** Creates the host's namespace (lo up) and joins it to each network; safe to call on a fresh name only. */
export async function createHostNetwork(host: string, attachments: NetworkAttachment[]): Promise<string> {
  const ns = namespaceName(host);
  await run(['ip', 'netns', 'add', ns]);
  await run(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  for (const a of attachments) await attachNetwork(ns, a);
  return ns;
}

/**
 * Joins an existing namespace to one more network. Also works on a running host (the jump host gets its second
 * leg while it serves): nothing inside a lab container manages interfaces, so the new one just appears.
 */
export async function attachNetwork(ns: string, a: NetworkAttachment): Promise<void> {
  // Create the pair with the peer already inside the namespace, so no temporary name exists in the root ns.
  await run(['ip', 'link', 'add', 'name', a.veth, 'type', 'veth', 'peer', 'name', a.iface, 'netns', ns]);
  await run(['ip', 'link', 'set', 'dev', a.veth, 'master', a.network.bridge]);
  await run(['ip', 'link', 'set', 'dev', a.veth, 'up']);
  await run(['ip', '-n', ns, 'addr', 'add', `${a.address}/${prefixLength(a.network)}`, 'dev', a.iface]);
  await run(['ip', '-n', ns, 'link', 'set', 'dev', a.iface, 'up']);
  if (a.defaultRoute && a.network.gateway) {
    await run(['ip', '-n', ns, 'route', 'add', 'default', 'via', a.network.gateway, 'dev', a.iface]);
  }
}

/** `unreachable <subnet>` in the root namespace: connecting there fails with EHOSTUNREACH, no packet leaves. */
export async function ensureUnreachableRoute(network: LabNetwork): Promise<void> {
  if (!(await listUnreachableRoutes()).includes(network.subnet)) await run(['ip', 'route', 'add', 'unreachable', network.subnet]);
}

/** The lab's unreachable routes in the root namespace (subnets), including ones a killed run left. */
export async function listUnreachableRoutes(): Promise<string[]> {
  const out = await run(['ip', '-4', 'route', 'show', 'type', 'unreachable']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[1])
    .filter((subnet): subnet is string => subnet === ISOLATED_NETWORK.subnet);
}

export async function deleteUnreachableRoute(subnet: string): Promise<void> {
  await tryRun(['ip', 'route', 'delete', 'unreachable', subnet]);
}

/** Every lab namespace, including ones a killed run left behind. */
export async function listLabNamespaces(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  return names.filter((name) => name.startsWith(`${NAME_PREFIX}-`));
}

export async function listLabLinks(): Promise<string[]> {
  const out = await run(['ip', '-o', 'link', 'show']);
  return out
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => Boolean(name?.startsWith(NAME_PREFIX)));
}

/** Process ids running inside a namespace (`ip netns pids`), e.g. a container left by a killed run. */
export async function namespacePids(ns: string): Promise<number[]> {
  const result = await tryRun(['ip', 'netns', 'pids', ns]);
  return result.ok ? result.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

/** Deleting the namespace destroys the veth ends inside it, which destroys their peers in the root ns too. */
export async function deleteNamespace(ns: string): Promise<void> {
  await tryRun(['ip', 'netns', 'delete', ns]);
}

export async function deleteLink(name: string): Promise<void> {
  await tryRun(['ip', 'link', 'delete', 'dev', name]);
}
