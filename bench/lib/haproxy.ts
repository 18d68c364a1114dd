// A real load balancer in front of the lab hosts: Debian's HAProxy in its own namespace on the lab bridge,
// health-checking each host's /readyz. Settings are HAProxy's defaults where a typical config leaves them
// (retries 3 to the same server, no redispatch), checks every 1 s, down after 2 failures, up after 2 successes.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabHost } from './lab.js';
import { BALANCER_NS, inNamespace } from './netns.js';
import { sleep, workDir } from './util.js';

export interface Frontend {
  name: string;
  /** Port HAProxy listens on (on the balancer's address). */
  listen: number;
  /** Port of the app on every host. */
  port: number;
  hosts: LabHost[];
}

export interface HealthEvent {
  at: number;
  line: string;
}

export class Balancer {
  private process?: ChildProcess;
  readonly events: HealthEvent[] = [];
  readonly dir = workDir('haproxy');
  readonly socket = join(this.dir, 'admin.sock');

  constructor(private readonly frontends: Frontend[]) {}

  config(): string {
    const lines = [
      'global',
      '  maxconn 4096',
      `  stats socket ${this.socket} mode 600 level admin`,
      '  log stdout format raw local0 info',
      'defaults',
      '  mode http',
      '  log global',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  retries 3',
    ];
    for (const f of this.frontends) {
      lines.push(
        `frontend fe-${f.name}`,
        `  bind ${BALANCER_NS.address}:${f.listen}`,
        // Only the requests that failed (an error, a 5xx): ~300 lines/s otherwise. Each says which server, its
        // timers and termination state (SH: the server closed before its answer; SC: it refused the connection).
        '  log global',
        '  option httplog',
        '  option dontlog-normal',
        `  default_backend be-${f.name}`,
        `backend be-${f.name}`,
        '  balance roundrobin',
        '  option httpchk GET /readyz',
        '  http-check expect status 200',
        '  default-server inter 1s fall 2 rise 2',
        ...f.hosts.map((h) => `  server ${h.name} ${h.address}:${f.port} check`),
      );
    }
    return `${lines.join('\n')}\n`;
  }

  async start(): Promise<void> {
    const file = join(this.dir, 'haproxy.cfg');
    writeFileSync(file, this.config());
    const argv = inNamespace(BALANCER_NS, ['haproxy', '-db', '-f', file]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.events.push({ at: Date.now(), line: line.trim() });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    for (let i = 0; i < 50; i++) {
      if (child.exitCode !== null) throw new Error(`haproxy exited: ${this.events.map((e) => e.line).join('\n')}`);
      try {
        await this.command('show info');
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error('haproxy did not open its stats socket');
  }

  /** One command on the admin socket; its answer. */
  command(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = connect(this.socket);
      let out = '';
      sock.on('data', (d) => (out += d.toString()));
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
      sock.end(`${text}\n`);
    });
  }

  /** Servers of a frontend's backend and their state (UP, DOWN, …) from `show stat`. */
  async states(frontend: string): Promise<Record<string, string>> {
    const csv = await this.command('show stat');
    const rows = csv.split('\n').filter((l) => l.startsWith(`be-${frontend},`) && !l.startsWith(`be-${frontend},BACKEND`));
    return Object.fromEntries(rows.map((l) => l.split(',')).map((c) => [c[1]!, c[17]!]));
  }

  async waitAllUp(frontend: string, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const states = await this.states(frontend);
      if (Object.values(states).length > 0 && Object.values(states).every((s) => s === 'UP')) return;
      if (Date.now() > until) throw new Error(`haproxy: not every server of ${frontend} is UP: ${JSON.stringify(states)}`);
      await sleep(250);
    }
  }

  /** Health transitions logged between two times ("Server be-x/web1 is DOWN, reason: …"). */
  transitions(from: number, to: number): string[] {
    return this.events.filter((e) => e.at >= from && e.at < to && /Server .* is (UP|DOWN)/.test(e.line)).map((e) => e.line.replace(/^.*?(Server )/, '$1').replace(/, \d+ active.*$/, ''));
  }

  /**
   * The frontend's failed requests between two times, as HAProxy logged them: a status other than 2xx/3xx, except
   * when the client went away itself (termination state C…: the load tool stopping). HAProxy also logs requests
   * that succeeded after a retried connect (dontlog-normal keeps them): not failures, left out.
   */
  failedRequests(frontend: string, from: number, to: number): string[] {
    return this.events
      .filter((e) => e.line.includes(` fe-${frontend} `))
      .filter((e) => {
        // By the time HAProxy accepted the request (httplog's accept date), not when its line arrived: a line
        // logged at a phase's end can arrive after the next one began.
        const at = acceptedAt(e.line) ?? e.at;
        return at >= from && at < to;
      })
      .map((e) => e.line)
      .filter((line) => {
        const m = / (-1|\d{3}) \d+ \S+ \S+ ([A-Za-z-]{4}) /.exec(line);
        return m === null || (!/^[23]/.test(m[1]!) && !m[2]!.startsWith('C'));
      });
  }

  async stop(): Promise<void> {
    if (!this.process || this.process.exitCode !== null) return;
    const exited = new Promise((r) => this.process!.once('exit', r));
    this.process.kill('SIGTERM');
    await exited;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** httplog's accept date, `[04/Dec/2026:22:09:01.123]`, in HAProxy's (this machine's) local time; ms since the epoch. */
export function acceptedAt(line: string): number | undefined {
  const m = /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})\.(\d{3})\]/.exec(line);
  const month = m === null ? -1 : MONTHS.indexOf(m[2]!);
  if (m === null || month < 0) return undefined;
  return new Date(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7])).getTime();
}
