import { loadConfig } from '../config/load.js';
import { resolveEnvironment } from '../config/resolve.js';
import { unsetSecrets } from '../config/validate.js';
import { sensitiveValues } from '../config/sensitive.js';
import type { HostTarget, ResolvedConfig } from '../config/types.js';
import { SshHost, type CommandInfo, type SshHostOptions } from '../host/ssh-host.js';
import { ShipitError } from '../lib/errors.js';
import { excerptBody } from '../lib/body-excerpt.js';
import { formatDuration } from '../lib/duration.js';
import { typoDistance, uniquelyNearest } from '../lib/nearest.js';
import { createRedactor } from '../lib/redact.js';
import { connectHost } from '../ssh/connect.js';
import { describeConnection, planConnection, type ConnectPlan } from '../ssh/connect-plan.js';
import { resolveSshChain } from '../ssh/ssh-chain.js';
import { localSshContext, sshConfigSource } from '../ssh/ssh-config-files.js';
import type { GlobalOptions } from './options.js';
import { combineFailures, partitionOutcomes, type UnreachableHost } from './unreachable.js';

/**
 * The environment's config. `secrets: 'optional'` for the commands that send no secrets to the hosts (see
 * ResolveOptions.requireSecrets): the names left out are returned, so that a command whose output they would be
 * redacted from can say they are not.
 */
export async function loadEnvironment(
  env: string,
  options: GlobalOptions,
  { cwd = process.cwd(), secrets = 'required' }: { cwd?: string; secrets?: 'required' | 'optional' } = {},
): Promise<ResolvedConfig & { unsetSecrets: string[] }> {
  const { config, filepath } = await loadConfig({ cwd, configPath: options.config });
  const resolved = resolveEnvironment(config, env, { configFile: filepath, requireSecrets: secrets === 'required' });
  return Object.assign(resolved, { unsetSecrets: secrets === 'required' ? [] : unsetSecrets(config as Record<string, unknown>, env) });
}

/** The stderr note of a command that redacts secrets from what the hosts print, when some are not set here. */
export function unredactedNote(names: readonly string[]): string | undefined {
  if (names.length === 0) return undefined;
  return `note: ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not set here (not needed for this command), so ${names.length === 1 ? 'its value' : 'their values'} cannot be redacted from what the hosts print\n`;
}

/** The hosts a command acts on: all, or those named by --host (unknown names are an error). */
export function selectHosts(config: ResolvedConfig, names: readonly string[] | undefined): HostTarget[] {
  if (!names || names.length === 0) return config.hosts;
  const known = new Set(config.hosts.map((h) => h.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    // One typo'd name gets its fix, when one host is nearer than the others (wbe1 → web1; web9 is as near to each).
    const guess = unknown.length === 1 ? uniquelyNearest(unknown[0]!, known, typoDistance, { ignoreCase: true }) : undefined;
    throw new ShipitError('USAGE', `--host ${unknown.join(', ')}: not a host of environment ${config.environment}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`, {
      hint: `its hosts are: ${[...known].join(', ')}`,
    });
  }
  return config.hosts.filter((h) => names.includes(h.name));
}

type ConnectOptions = GlobalOptions & {
  signal?: AbortSignal;
  onCommand?: SshHostOptions['onCommand'];
  dryRun?: SshHostOptions['dryRun'];
  warmShells?: boolean;
};

/**
 * One SSH connection per host, opened in parallel. Any host failing fails the whole command before anything
 * changes; the connections already open are closed. Errors of every failed host are reported together.
 */
export async function connectFleet(config: ResolvedConfig, targets: HostTarget[], options: ConnectOptions): Promise<Map<string, SshHost>> {
  const results = await openConnections(config, targets, options);
  const hosts = new Map<string, SshHost>();
  const failures: unknown[] = [];
  results.forEach((r, i) => (r.status === 'fulfilled' ? hosts.set(targets[i]!.name, r.value) : failures.push(r.reason)));
  if (failures.length > 0) {
    await closeFleet(hosts);
    throw combineFailures(failures);
  }
  return hosts;
}

/**
 * For the read-only commands: like connectFleet, but a host that cannot be reached is returned in `unreachable`
 * and the others are kept. Any other failure (host key, authentication, Ctrl-C) still fails the command, reported
 * with every host's error, and closes what connected.
 */
export async function connectReachable(
  config: ResolvedConfig,
  targets: HostTarget[],
  options: ConnectOptions,
): Promise<{ hosts: Map<string, SshHost>; unreachable: UnreachableHost[] }> {
  const results = await openConnections(config, targets, options);
  const { ok: hosts, unreachable, fatal } = partitionOutcomes(targets.map((t) => t.name), results);
  if (fatal.length > 0) {
    await closeFleet(hosts);
    throw combineFailures([...fatal, ...unreachable.map((u) => u.error)]);
  }
  return { hosts, unreachable };
}

/**
 * `status` and `releases`: reads every selected host that can be reached, in parallel, and closes the
 * connections. A host that cannot be reached, or whose connection drops during `read`, is in `unreachable`
 * (target order); other errors fail the command.
 */
export async function readReachable<T>(
  config: ResolvedConfig,
  options: GlobalOptions,
  read: (host: SshHost) => Promise<T>,
): Promise<{ hosts: string[]; results: Map<string, T>; unreachable: UnreachableHost[] }> {
  const targets = selectHosts(config, options.host);
  const names = targets.map((t) => t.name);
  const connected = await connectReachable(config, targets, options);
  try {
    const reading = [...connected.hosts.keys()];
    const outcomes = partitionOutcomes(reading, await Promise.allSettled(reading.map((name) => read(connected.hosts.get(name)!))));
    if (outcomes.fatal.length > 0) throw combineFailures(outcomes.fatal);
    const unreachable = [...connected.unreachable, ...outcomes.unreachable].sort((a, b) => names.indexOf(a.host) - names.indexOf(b.host));
    return { hosts: names, results: outcomes.ok, unreachable };
  } finally {
    await closeFleet(connected.hosts);
  }
}

/** Opens one connection per target, in parallel; one outcome per target, in order. */
async function openConnections(config: ResolvedConfig, targets: HostTarget[], options: ConnectOptions): Promise<PromiseSettledResult<SshHost>[]> {
  // The SSH config is resolved for every host before any connection: a bad line there touches nothing.
  const plans = planFleetConnections(config, targets, options);
  const onCommand = options.onCommand ?? commandLogger(options, createRedactor(sensitiveValues(config.server)));
  return Promise.allSettled(
    plans.map(async (plan) => {
      const { target } = plan;
      if (options.verbose) process.stderr.write(`  [${target.name}] connect ${describeConnection(plan)}\n`);
      const transport = await connectHost(target, plan.ssh, {
        acceptNewHostKeys: options.acceptNewHostKeys ?? false,
        signal: options.signal,
        jumps: plan.jumps,
        hostKeyAlias: plan.hostKeyAlias,
        onHostKeyAccepted: (info) =>
          process.stderr.write(`${info.host}: recorded new host key ${info.keyType} ${info.fingerprint} for ${info.hostString} in ${info.knownHostsFile}\n`),
      });
      return new SshHost(target.name, transport, {
        layout: { deployTo: config.deployTo, app: config.app, serviceUser: config.server.user },
        sshUser: target.user,
        port: config.server.port,
        commandTimeoutMs: config.ssh.commandTimeout,
        onCommand,
        dryRun: options.dryRun,
        warmShells: options.warmShells ?? false,
        destination: describeConnection(plan),
      });
    }),
  );
}

/**
 * How each host is reached: deploy.config's host, user and port, completed by the SSH config (--ssh-config,
 * else ssh.configFile, else ~/.ssh/config and /etc/ssh/ssh_config), jump hosts included.
 */
export function planFleetConnections(config: ResolvedConfig, targets: HostTarget[], options: Pick<GlobalOptions, 'sshConfig'>): ConnectPlan[] {
  const source = sshConfigSource(options.sshConfig ?? config.ssh.configFile);
  // The user when neither deploy.config nor the SSH config names one: shipit's documented default.
  const context = localSshContext('root');
  return targets.map((target) => planConnection(target, config.ssh, (query) => resolveSshChain(query, source, context)));
}

/**
 * Connections opened in the background, e.g. while the release is built: SSH handshakes change nothing on a
 * host, so they need not wait for the build. Whoever starts them either awaits `hosts` or calls `close()`.
 */
export interface PendingFleet {
  /** Aborts the connections still being opened; later, the operation that uses them (Ctrl-C). */
  readonly abort: AbortController;
  /** Settles like connectFleet; a rejection nobody awaits is not reported as unhandled. */
  readonly hosts: Promise<Map<string, SshHost>>;
  /** Stops what is still connecting and closes what connected; never rejects. */
  close(): Promise<void>;
}

export function connectInBackground(
  config: ResolvedConfig,
  targets: HostTarget[],
  options: Omit<ConnectOptions, 'signal'>,
): PendingFleet {
  const abort = new AbortController();
  const hosts = connectFleet(config, targets, { ...options, signal: abort.signal });
  hosts.catch(() => {});
  return {
    abort,
    hosts,
    async close() {
      abort.abort(new ShipitError('ABORTED', 'not needed any more'));
      const connected = await hosts.catch(() => null);
      if (connected) await closeFleet(connected);
    },
  };
}

export async function closeFleet(hosts: ReadonlyMap<string, { close(): Promise<void> }>): Promise<void> {
  await Promise.allSettled([...hosts.values()].map((h) => h.close()));
}

/**
 * --verbose: one line per remote command and probe with its exit code and duration. On stderr, so that stdout
 * stays the command's output (a table, JSON, log lines). `redact` takes the config's secrets out of what a probe's
 * line quotes of the app's answer.
 */
export function commandLogger(
  options: Pick<GlobalOptions, 'verbose'>,
  redact: (text: string) => string,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): SshHostOptions['onCommand'] {
  if (!options.verbose) return undefined;
  return (info) => write(describeCommand(info, redact));
}

/**
 * `  [web1] inspect: exit 0 in 48ms`, `  [web1] GET 127.0.0.1:8000/readyz: HTTP 200 in 7ms`, and for a step run in
 * a warm shell `  [web2] activate 20261203T182415Z: exit 0 in 1.2s (warm shell)`. A probe that was not answered 2xx
 * quotes the answer's body as the gate's failure does (excerptBody), `HTTP 503 in 7ms: {"db": "unreachable"}`,
 * so each round shows what the app said, not only the last; a 2xx body says nothing the status does not.
 */
export function describeCommand(info: CommandInfo, redact: (text: string) => string): string {
  const outcome = info.kind === 'probe' ? (info.code < 0 ? 'no answer' : `HTTP ${info.code}`) : `exit ${info.code}`;
  const said = info.kind === 'probe' && (info.code < 200 || info.code > 299) && info.body !== undefined ? excerptBody(info.body, redact) : '';
  return `  [${info.host}] ${info.label}: ${outcome} in ${formatDuration(Math.round(info.durationMs))}${info.warm ? ' (warm shell)' : ''}${said === '' ? '' : `: ${said}`}`;
}

/** Connects to the selected hosts, runs `body`, and always closes the connections. */
export async function withFleet<T>(
  config: ResolvedConfig,
  options: GlobalOptions & { signal?: AbortSignal },
  body: (hosts: Map<string, SshHost>) => Promise<T>,
): Promise<T> {
  const hosts = await connectFleet(config, selectHosts(config, options.host), options);
  try {
    return await body(hosts);
  } finally {
    await closeFleet(hosts);
  }
}
