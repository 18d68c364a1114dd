import { MemoryHost } from '../../../src/host/memory-host.js';
import { FakeClock } from '../../../src/lib/fake-clock.js';
import { readJournals } from '../../../src/journal/read.js';
import type { HostEntry } from '../../../src/journal/merge.js';

function fleet(names: string[]) {
  const clock = new FakeClock(Date.UTC(2026, 10, 25, 13, 0, 0));
  const hosts = new Map(names.map((n) => [n, new MemoryHost(n, clock)] as const));
  return { clock, hosts, host: (n: string) => hosts.get(n)! };
}

const collect = () => {
  const out: HostEntry[] = [];
  const lost: string[] = [];
  return { out, lost, onEntries: (e: HostEntry[]) => out.push(...e), onHostLost: (h: string) => lost.push(h) };
};
const text = (entries: HostEntry[]) => entries.map((e) => `${e.host} ${e.message}`);

describe('reading the journals of a fleet', () => {
  it('shows the newest N lines across all hosts, oldest first', async () => {
    const f = fleet(['web1', 'web2']);
    for (let i = 0; i < 5; i++) {
      f.host('web1').log(`a${i}`, { atUs: (f.clock.now() + i * 10) * 1000 });
      f.host('web2').log(`b${i}`, { atUs: (f.clock.now() + i * 10 + 5) * 1000 });
    }
    const c = collect();
    await readJournals(f.hosts, { lines: 3, intervalMs: 500, clock: f.clock, ...c });
    expect(text(c.out)).toEqual(['web2 b3', 'web1 a4', 'web2 b4']);
  });

  it('follows every host (not only the first) in time order until aborted, which ends it normally', async () => {
    const f = fleet(['web1', 'web2', 'web3']);
    const abort = new AbortController();
    const c = collect();
    const run = readJournals(f.hosts, { lines: 10, follow: true, intervalMs: 500, clock: f.clock, signal: abort.signal, ...c });
    // Lines appear on each host over 3 s of fake time, in an order that interleaves the hosts.
    const script = [
      [100, 'web2', 'b1'],
      [700, 'web1', 'a1'],
      [900, 'web3', 'c1'],
      [1300, 'web2', 'b2'],
      [2600, 'web1', 'a2'],
    ] as const;
    let t = 0;
    for (const [at, host, message] of script) {
      await f.clock.sleep(at - t);
      t = at;
      f.host(host).log(message);
    }
    await f.clock.sleep(2000);
    abort.abort();
    await expect(run).resolves.toBeUndefined();
    expect(text(c.out)).toEqual(['web2 b1', 'web1 a1', 'web3 c1', 'web2 b2', 'web1 a2']);
    expect(c.lost).toEqual([]);
  });

  it('a host that drops out is reported and the others go on', async () => {
    const f = fleet(['web1', 'web2']);
    const abort = new AbortController();
    const c = collect();
    const run = readJournals(f.hosts, { follow: true, intervalMs: 500, clock: f.clock, signal: abort.signal, ...c });
    await f.clock.sleep(600);
    f.host('web2').faults.unreachable = true;
    await f.clock.sleep(600);
    f.host('web1').log('still here');
    await f.clock.sleep(1200);
    abort.abort();
    await run;
    expect(c.lost).toEqual(['web2']);
    expect(text(c.out)).toEqual(['web1 still here']);
  });

  it('fails when no host can be read at all', async () => {
    const f = fleet(['web1']);
    f.host('web1').faults.unreachable = true;
    const c = collect();
    await expect(readJournals(f.hosts, { intervalMs: 500, clock: f.clock, ...c })).rejects.toMatchObject({ exitCode: 3 });
  });
});
