// The cached Debian root filesystem every lab host boots from (read-only lower layer of its overlay).
// Built once per recipe with debootstrap into a temporary directory and renamed into place when complete, so a
// killed build never leaves something that looks cached. The recipe is data; its hash names the cache entry.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findDebianMirror } from './apt-mirror.js';
import { log, run, seconds } from './exec.js';
import { unmountAllUnder } from './mounts.js';
import { CACHE_DIR } from './paths.js';

export const ROOTFS_RECIPE = {
  suite: 'bookworm',
  variant: 'minbase',
  packages: [
    'systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'sudo', 'iproute2', 'curl', 'ca-certificates',
    'procps', 'python3', 'python3-venv', 'python3-pip', 'gunicorn', 'python3-uvicorn', 'python3-fastapi',
    'nodejs', 'rsync',
  ],
  /** Run inside the new root (chroot) after debootstrap, in order. */
  chrootSteps: [
    // The non-root account deploys use; its key and sudo rules are written per host at `up`.
    ['useradd', '--create-home', '--shell', '/bin/bash', 'deploy'],
    ['apt-get', 'clean'],
  ],
  /**
   * Identity must be per host: no ssh host keys (openssh-server's postinst generated some) and an empty
   * machine-id (the overlay gets a unique one before boot).
   */
  removePaths: ['/etc/ssh/ssh_host_*', '/var/lib/dbus/machine-id', '/var/lib/apt/lists/*'],
  emptyFiles: ['/etc/machine-id'],
} as const;

export function recipeHash(recipe = ROOTFS_RECIPE): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 12);
}

export function rootfsPath(recipe = ROOTFS_RECIPE): string {
  return path.join(CACHE_DIR, `rootfs-${recipeHash(recipe)}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes temporary build dirs of builds that died (their pid is in the name), mounts first. */
async function removeDeadBuilds(): Promise<void> {
  if (!existsSync(CACHE_DIR)) return;
  for (const entry of await readdir(CACHE_DIR)) {
    const match = /^\.build-.*-(\d+)$/.exec(entry);
    if (!match?.[1] || processAlive(Number(match[1]))) continue;
    const dir = path.join(CACHE_DIR, entry);
    log(`removing the unfinished build ${dir}`);
    await unmountAllUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Returns the cached rootfs for the current recipe, building it first when it is missing (~3 min). */
export async function ensureRootfs(): Promise<string> {
  const target = rootfsPath();
  if (existsSync(target)) return target;
  await mkdir(CACHE_DIR, { recursive: true });
  await removeDeadBuilds();

  const recipe = ROOTFS_RECIPE;
  const mirror = findDebianMirror(recipe.suite);
  const temp = path.join(CACHE_DIR, `.build-${recipeHash()}-${process.pid}`);
  const startedAt = process.hrtime.bigint();
  log(`building the rootfs ${target} from ${mirror} (debootstrap ${recipe.suite}, a few minutes)`);
  try {
    await run(
      ['debootstrap', `--variant=${recipe.variant}`, `--include=${recipe.packages.join(',')}`, recipe.suite, temp, mirror],
      { inherit: !process.env.CI },
    );
    for (const step of recipe.chrootSteps) await run(['chroot', temp, ...step]);
    await unmountAllUnder(temp);
    for (const pattern of recipe.removePaths) {
      // Globs are expanded here, against the new root: no shell involved.
      const dir = path.join(temp, path.dirname(pattern));
      const re = new RegExp(`^${path.basename(pattern).replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
      for (const entry of existsSync(dir) ? await readdir(dir) : []) {
        if (re.test(entry)) await rm(path.join(dir, entry), { recursive: true, force: true });
      }
    }
    for (const file of recipe.emptyFiles) await writeFile(path.join(temp, file), '');
    await writeFile(path.join(temp, '.shipit-lab-recipe.json'), `${JSON.stringify({ hash: recipeHash(), ...recipe }, null, 2)}\n`);
    await rename(temp, target);
  } catch (error) {
    const detail = await readFile(path.join(temp, 'debootstrap/debootstrap.log'), 'utf8').catch(() => '');
    if (detail) log(`debootstrap.log (last lines):\n${detail.trimEnd().split('\n').slice(-25).join('\n')}`);
    await unmountAllUnder(temp);
    await rm(temp, { recursive: true, force: true });
    if (existsSync(target)) return target; // a concurrent build finished first
    throw error;
  }
  log(`rootfs built in ${seconds(startedAt)}`);
  return target;
}
