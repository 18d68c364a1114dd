// One `up` or `down` at a time on a machine: two at once would tear down each other's half-built hosts.
// The lock is an atomic mkdir holding the owner's pid; a lock whose owner died (killed run) is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { processAlive } from './container.js';
import { LabError, log, sleep } from './exec.js';

const LOCK_DIR = process.env.SHIPIT_LAB_LOCK ?? '/run/lock/shipit-lab';
const WAIT_MS = 10 * 60_000;

function owner(): number | undefined {
  try {
    return Number(readFileSync(`${LOCK_DIR}/pid`, 'utf8')) || undefined;
  } catch {
    return undefined;
  }
}

export async function withLabLock<T>(what: string, action: () => Promise<T>): Promise<T> {
  const until = Date.now() + WAIT_MS;
  let announced = false;
  let noPidSince: number | undefined;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR, { recursive: false });
      writeFileSync(`${LOCK_DIR}/pid`, `${process.pid}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = owner();
      // No pid: the owner is between mkdir and write, or died there; give it a few seconds.
      noPidSince = pid === undefined ? (noPidSince ?? Date.now()) : undefined;
      if ((pid !== undefined && !processAlive(pid)) || (noPidSince !== undefined && Date.now() - noPidSince > 5_000)) {
        log(`taking over the lab lock of a dead process (${pid ?? 'no pid'})`);
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > until) throw new LabError(`another lab command (pid ${pid ?? '?'}) holds ${LOCK_DIR}`);
      if (!announced) log(`waiting for another lab command to finish (pid ${pid ?? '?'}) before ${what}`);
      announced = true;
      await sleep(500);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}
