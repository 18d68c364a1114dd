/**
 * The agent as OpenSSH uses it under `IdentitiesOnly yes`: only its keys that are also identity files are
 * offered (sshconnect2.c pubkey_prepare keeps an agent key only when it matches a configured file). This is
 * what makes an encrypted key loaded into ssh-agent usable while the agent's other keys stay out of it.
 */
import ssh2 from 'ssh2';
import type { BaseAgent, IdentityCallback, ParsedKey } from 'ssh2';

// ssh2 is CommonJS: named imports fail in real Node ESM (REFERENCE.md).
const { OpenSSHAgent } = ssh2;

export function agentLimitedTo(socket: string, allowed: readonly Buffer[]): BaseAgent {
  class LimitedAgent extends OpenSSHAgent {
    override getIdentities(cb: IdentityCallback<ParsedKey>): void {
      super.getIdentities((error, keys) => {
        if (error) return cb(error);
        // OpenSSHAgent answers with parsed keys; anything else cannot be matched, so it is not offered.
        const parsed = (keys ?? []).filter((key): key is ParsedKey => typeof (key as ParsedKey).getPublicSSH === 'function');
        cb(null, parsed.filter((key) => allowed.some((blob) => blob.equals(key.getPublicSSH()))));
      });
    }
  }
  return new LimitedAgent(socket);
}
