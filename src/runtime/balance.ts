/**
 * Spreading long-lived keep-alive connections over the workers again (SHIPIT_BALANCE, on by default under shared
 * scheduling with 2 or more workers).
 *
 * With shared accept the kernel gives a new connection to whichever worker calls accept() first, and a worker that
 * wakes up to a burst accepts all of it in one go: a client that opens its keep-alive pool at once (wrk's 50
 * connections, a load balancer's pool to this host) often lands wholly on one worker, which then serves alone
 * while the other cores idle, for as long as the connections live. Measured with wrk on 2 workers (bench/RESULTS.md, Node
 * runtime): the busiest worker held 27-50 of 50 connections at mid-run, all of them in 4 of 8 rounds.
 *
 * Node 18/20 offer no way to steer accept() (SO_REUSEPORT per worker needs Node 22.12; libuv's
 * UV_TCP_SINGLE_ACCEPT is gone from libuv 1.46), and moving an established connection to another process is
 * unsafe once its HTTP parser has read from it. So the master balances by shedding, the way a recycled
 * connection would (SHIPIT_KEEPALIVE_REQUESTS), only where it helps: every worker reports how many of its
 * long-lived connections carried a request in the last interval; when one holds clearly more than its share, the
 * master tells it to answer its next N requests with `Connection: close`. Those clients reconnect (HTTP/1.1
 * clients, browsers and balancers do so without an error), and since the busy worker itself would most often
 * accept the new connections again (it is running when they arrive), it hands the next N it accepts to the
 * master, which passes them to the least-busy worker (handoff.ts). Repeated after a pause until the spread is even
 * within a margin.
 *
 * Only where a core is free to take them (`minIdleCpus`, SHIPIT_BALANCE=auto, the default): spreading pays when
 * the worker holding the pile is the limit and another core idles meanwhile (the bench's pile-up: 1.5-1.6x the
 * requests/s of a server that leaves them). When the machine has no idle core, moving connections gains no CPU,
 * only the cost of the move and of an even spread: measured with wrk on the same 2 cores, serving 50 keep-alive
 * connections from two workers instead of one took 6-17% more CPU per request (bench/RESULTS.md, Node runtime), as
 * more, smaller wake-ups of each process replace one worker's batched ones. So a shed waits until the imbalance
 * has lasted a whole window (`idleWindowMs`) and the machine's idle CPU over that window, read from /proc/stat
 * (primary.ts), reaches `minIdleCpus` cores. The machine's, not the service's: a CPUQuota= on the unit is not
 * seen (a shed then costs the move and gains nothing; SHIPIT_BALANCE=0 turns it off).
 *
 * Pure: the master feeds reports, the time and CPU samples in, and carries out the sheds that come out.
 */

export interface BalanceOptions {
  /** Only an excess of at least this many active connections over the mean is shed. */
  minExcess: number;
  /** ... and of at least this fraction of the mean. */
  excessFraction: number;
  /** After a shed, a worker is left alone this long and until it reports again (the clients reconnect meanwhile). */
  cooldownMs: number;
  /** Shed only when the machine had at least this many idle CPUs while the imbalance lasted; 0 = whatever the load. */
  minIdleCpus: number;
  /** How long an imbalance is watched (its idle CPU measured) before a shed. */
  idleWindowMs: number;
}

/** Half a core: with less, a receiving worker would mostly wait for a CPU the others hold. */
export const defaultBalanceOptions: BalanceOptions = { minExcess: 2, excessFraction: 0.2, cooldownMs: 300, minIdleCpus: 0.5, idleWindowMs: 100 };

/** The machine's CPU time so far, all CPUs together, in any unit (/proc/stat's first line: clock ticks). */
export interface CpuSample {
  idle: number;
  total: number;
  /** CPUs online. */
  cpus: number;
}

/**
 * /proc/stat (proc(5)): the first line sums all CPUs' time in clock ticks: user nice system idle iowait irq
 * softirq steal (guest time is also in user). Idle = idle + iowait (a CPU waiting on I/O could run a worker);
 * steal is not idle (the hypervisor gave it to someone else). CPUs = the `cpuN` lines.
 */
export function parseProcStat(text: string): CpuSample | undefined {
  const first = /^cpu +(.*)$/m.exec(text);
  if (first === null) return undefined;
  const fields = first[1]!.trim().split(/ +/).slice(0, 8).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const cpus = text.match(/^cpu\d+ /gm)?.length ?? 0;
  if (cpus === 0) return undefined;
  const total = fields.reduce((sum, n) => sum + n, 0);
  return { idle: fields[3]! + fields[4]!, total, cpus };
}

/** Idle CPUs on average between two samples (idle 3 of 4 ticks on 2 CPUs = 1.5); undefined without progress. */
export function idleCpusBetween(from: CpuSample, to: CpuSample): number | undefined {
  const total = to.total - from.total;
  if (!(total > 0)) return undefined;
  return ((to.idle - from.idle) / total) * to.cpus;
}

/** How often a serving worker reports its active connections. */
export const BALANCE_REPORT_MS = 100;

export interface Shed<K> {
  key: K;
  /** Close this many connections: the worker's next `count` responses say `Connection: close`. */
  count: number;
  /** For the log: the active connections per worker the decision was made on. */
  active: number[];
  /** For the log: the machine's idle CPUs over the window the decision was made on (when measured). */
  idleCpus?: number;
}

/**
 * Pure: which worker should shed how many of its active connections, if any. The busiest worker sheds what it holds
 * above the (rounded-up) mean, when that excess reaches both `minExcess` and `excessFraction` of the mean.
 */
export function planShed<K>(active: ReadonlyArray<readonly [K, number]>, options: BalanceOptions): Shed<K> | undefined {
  if (active.length < 2) return undefined;
  let total = 0;
  let busiest = active[0]!;
  for (const entry of active) {
    total += entry[1];
    if (entry[1] > busiest[1]) busiest = entry;
  }
  const mean = total / active.length;
  const excess = busiest[1] - Math.ceil(mean);
  if (excess < options.minExcess || excess < mean * options.excessFraction) return undefined;
  return { key: busiest[0], count: excess, active: active.map((entry) => entry[1]) };
}

interface WorkerLoad {
  active: number;
  /** Set by a shed: no further shed before this time, nor before the next report. */
  quietUntil: number;
  reportedSinceShed: boolean;
}

export class ConnectionBalancer<K> {
  private readonly loads = new Map<K, WorkerLoad>();
  /** Since when (and from which CPU sample) the current imbalance is watched; undefined = none seen. */
  private watch: { since: number; sample: CpuSample | undefined } | undefined;

  /**
   * @param sampleCpu the machine's CPU counters now (primary.ts reads /proc/stat); undefined when they cannot be
   *   read, and then the idle condition is not applied (balancing as with `minIdleCpus` 0).
   */
  constructor(
    private readonly options: BalanceOptions = defaultBalanceOptions,
    private readonly sampleCpu: () => CpuSample | undefined = () => undefined,
  ) {}

  /** A serving worker's report; returns the shed to carry out now, if one is due. */
  report(key: K, active: number, now: number): Shed<K> | undefined {
    const load = this.loads.get(key);
    if (load === undefined) this.loads.set(key, { active, quietUntil: 0, reportedSinceShed: true });
    else {
      load.active = active;
      load.reportedSinceShed = true;
    }
    const entries: [K, number][] = [];
    for (const [k, l] of this.loads) entries.push([k, l.active]);
    const shed = planShed(entries, this.options);
    if (shed === undefined) {
      this.watch = undefined;
      return undefined;
    }
    const target = this.loads.get(shed.key)!;
    if (now < target.quietUntil || !target.reportedSinceShed) return undefined;
    const core = this.freeCore(now);
    if (!core.free) return undefined;
    target.quietUntil = now + this.options.cooldownMs;
    target.reportedSinceShed = false;
    this.watch = undefined;
    return core.idleCpus === undefined ? shed : { ...shed, idleCpus: Math.round(core.idleCpus * 100) / 100 };
  }

  /**
   * Whether the imbalance has lasted `idleWindowMs` with `minIdleCpus` idle on average. Measured from when it was
   * first seen (or last judged), so idle time from before the clients arrived does not count; a window that had
   * too little idle starts the next one. `idleCpus`: what the window measured, when it was measured.
   */
  private freeCore(now: number): { free: boolean; idleCpus?: number } {
    if (this.options.minIdleCpus <= 0) return { free: true };
    if (this.watch === undefined) {
      const sample = this.sampleCpu();
      if (sample === undefined) return { free: true };
      this.watch = { since: now, sample };
      return { free: false };
    }
    if (now - this.watch.since < this.options.idleWindowMs) return { free: false };
    const sample = this.sampleCpu();
    const idle = this.watch.sample === undefined || sample === undefined ? undefined : idleCpusBetween(this.watch.sample, sample);
    this.watch = { since: now, sample };
    if (idle === undefined) return { free: true };
    return { free: idle >= this.options.minIdleCpus, idleCpus: idle };
  }

  /**
   * Who takes a connection that worker `from` handed over: the serving worker with the fewest active connections
   * other than `from` (`from` itself when it is the only one left). Counted as active there until its next report,
   * so a run of hand-overs spreads instead of all going to the same worker.
   */
  receiverFor(from: K): K | undefined {
    let best: [K, WorkerLoad] | undefined;
    for (const entry of this.loads) {
      if (entry[0] !== from && (best === undefined || entry[1].active < best[1].active)) best = entry;
    }
    if (best === undefined) return this.loads.has(from) ? from : undefined;
    best[1].active += 1;
    return best[0];
  }

  /** The worker stopped serving (draining, exited): it no longer takes connections, nor counts in the mean. */
  remove(key: K): void {
    this.loads.delete(key);
  }
}
