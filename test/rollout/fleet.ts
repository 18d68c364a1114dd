import { Readable } from 'node:stream';
import type { ResolvedConfig } from '../../src/config/types.js';
import { MemoryHost, type Faults } from '../../src/host/memory-host.js';
import type { LockInfo, ReleaseSpec } from '../../src/host/types.js';
import { FakeClock } from '../../src/lib/fake-clock.js';
import type { FleetContext } from '../../src/rollout/deploy.js';
import type { RolloutEvent } from '../../src/rollout/events.js';
import { testConfig } from '../support/config.js';

export interface TestFleet {
  clock: FakeClock;
  hosts: Map<string, MemoryHost>;
  events: RolloutEvent[];
  config: ResolvedConfig;
  ctx(overrides?: Partial<FleetContext>): FleetContext;
  host(name: string): MemoryHost;
}

export function makeFleet(count: number, configOverrides: Partial<ResolvedConfig> = {}): TestFleet {
  const clock = new FakeClock();
  const config = testConfig(configOverrides, count);
  const hosts = new Map(config.hosts.map((h) => [h.name, new MemoryHost(h.name, clock)] as const));
  const events: RolloutEvent[] = [];
  return {
    clock,
    hosts,
    events,
    config,
    host: (name) => hosts.get(name)!,
    ctx: (overrides = {}) => ({
      config,
      hosts,
      lock: lockInfo('tok-1'),
      lockWaitMs: 0,
      clock,
      emit: (event) => events.push(event),
      ...overrides,
    }),
  };
}

export function lockInfo(token: string, by = 'alice@laptop'): LockInfo {
  return { by, pid: 4242, at: '2026-11-25T13:00:00Z', release: null, message: '', token };
}

export function releaseSpec(id: string, files: Record<string, string> = { 'app/main.py': id }): ReleaseSpec {
  return {
    meta: { id, createdAt: '2026-11-25T13:00:00Z', by: 'alice@laptop', revision: null, state: 'staged' },
    files: Object.entries(files).map(([path, content]) => ({ path, mode: 0o644, size: content.length, sha256: `sha-${content}` })),
    openTar: () => Readable.from([]),
    units: [],
    env: '',
    secrets: '',
    prerequisites: [],
    diskBytes: 0,
  };
}

/** Puts every host on a good release, as after an earlier successful deploy. */
export function seed(fleet: TestFleet, id: string, faults: Faults = {}): void {
  for (const host of fleet.hosts.values()) {
    host.releases.set(id, { meta: { ...releaseSpec(id).meta, state: 'good' }, files: releaseSpec(id).files });
    host.current = id;
    host.serving = id;
    void host.activate(id, { timeoutMs: 1000 });
    host.calls.length = 0;
    host.faults = { ...faults };
  }
}

export function types(events: RolloutEvent[]): string[] {
  return events.map((e) => ('host' in e ? `${e.type} ${e.host}` : e.type));
}
