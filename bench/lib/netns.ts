// The bench's own places on the lab's network: a namespace per role, joined to the lab bridge by a veth, with
// an address of its own. Every tool under test runs in `shipitbench-cli`, so the root-side veth's counters are
// exactly the bytes that tool moved (other engineers' deploys and tests come from the bridge's own address),
// and sshd's "Accepted publickey … from <address>" lines on the hosts are exactly its logins.
// Names do not start with the lab's prefix: `lab down` leaves them alone, and they are re-joined to the bridge
// whenever the lab was re-created under them.
import { readFileSync } from 'node:fs';
import { run, tryRun } from '../../lab/exec.js';

export interface BenchNamespace {
  netns: string;
  /** Root-side end of the veth pair (≤ 15 characters). */
  veth: string;
  address: string;
}

export const CLIENT_NS: BenchNamespace = { netns: 'shipitbench-cli', veth: 'sbench-cli', address: '10.213.37.200' };
export const BALANCER_NS: BenchNamespace = { netns: 'shipitbench-lb', veth: 'sbench-lb', address: '10.213.37.201' };

export async function ensureNamespace(ns: BenchNamespace, bridge: string, prefix = 24): Promise<void> {
  if (!(await tryRun(['ip', 'netns', 'pids', ns.netns])).ok) {
    await run(['ip', 'netns', 'add', ns.netns]);
    await run(['ip', '-n', ns.netns, 'link', 'set', 'dev', 'lo', 'up']);
  }
  if (!(await tryRun(['ip', 'link', 'show', 'dev', ns.veth])).ok) {
    await run(['ip', 'link', 'add', 'name', ns.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.netns]);
    await run(['ip', '-n', ns.netns, 'addr', 'add', `${ns.address}/${prefix}`, 'dev', 'eth0']);
    await run(['ip', '-n', ns.netns, 'link', 'set', 'dev', 'eth0', 'up']);
  }
  // (Re-)join the bridge: `lab up` re-creates it, which leaves our end detached.
  await run(['ip', 'link', 'set', 'dev', ns.veth, 'master', bridge]);
  await run(['ip', 'link', 'set', 'dev', ns.veth, 'up']);
}

export async function deleteNamespace(ns: BenchNamespace): Promise<void> {
  await tryRun(['ip', 'netns', 'delete', ns.netns]);
}

/** argv prefix that runs a program inside the namespace (ip netns exec execs it: same pid, no extra process). */
export function inNamespace(ns: BenchNamespace, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns.netns, ...argv];
}

export interface WireBytes {
  /** From the namespace to the lab (what the tool sent), Ethernet frames included. */
  up: number;
  /** From the lab to the namespace. */
  down: number;
}

export function wireCounters(ns: BenchNamespace): WireBytes {
  const read = (name: string) => Number(readFileSync(`/sys/class/net/${ns.veth}/statistics/${name}`, 'utf8'));
  // Root-side end: what it receives came from inside the namespace.
  return { up: read('rx_bytes'), down: read('tx_bytes') };
}

export function wireDelta(before: WireBytes, after: WireBytes): WireBytes {
  return { up: after.up - before.up, down: after.down - before.down };
}
