// What the lab needs on this machine. Missing pieces are installed by scripts/setup.sh, not here.
import { LabError, tryRun } from './exec.js';

const COMMANDS = ['debootstrap', 'systemd-nspawn', 'ip', 'mount', 'umount', 'chroot', 'nsenter', 'ssh', 'ssh-keygen'];

export async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new LabError('the lab needs root (network namespaces, overlay mounts, systemd-nspawn)', 'run it as root: `sudo npm run lab -- up 3`');
  }
  const missing: string[] = [];
  for (const command of COMMANDS) {
    if (!(await tryRun(['sh', '-c', 'command -v "$1"', 'sh', command])).ok) missing.push(command);
  }
  if (missing.length > 0) throw new LabError(`missing on this machine: ${missing.join(', ')}`, 'run `bash scripts/setup.sh` (as root) first');
}
