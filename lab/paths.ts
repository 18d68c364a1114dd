// Where the lab keeps things. The rootfs cache lives outside any clone so every checkout on a machine shares
// it; the state dir is per machine too (one lab per machine) and is removed entirely by `down`.
import path from 'node:path';

export const CACHE_DIR = process.env.SHIPIT_LAB_CACHE ?? '/var/cache/shipit-lab';
export const STATE_DIR = process.env.SHIPIT_LAB_STATE ?? '/var/lib/shipit-lab';
export const HOSTS_DIR = path.join(STATE_DIR, 'hosts');
export const LAB_FILE = path.join(STATE_DIR, 'lab.json');
export const IDENTITY_FILE = path.join(STATE_DIR, 'id_ed25519');
export const KNOWN_HOSTS_FILE = path.join(STATE_DIR, 'known_hosts');

/** Every kernel object the lab creates (netns, links) starts with this, so leftovers are easy to find. */
export const NAME_PREFIX = 'shipitlab';

export function hostDir(name: string): string {
  return path.join(HOSTS_DIR, name);
}

/** Layout of one host's overlay: lower = cached rootfs (read-only, shared), the rest per host. */
export function overlayDirs(name: string): { upper: string; work: string; merged: string } {
  const dir = hostDir(name);
  return { upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged') };
}
