import http from 'node:http';

export interface LoadReport {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** The first few failures, to say what went wrong. */
  samples: string[];
  latenciesMs: number[];
}

/**
 * Bounded, steady load against lab hosts: `concurrency` loops, each a new connection per request (so a
 * restart cannot hide behind a kept-alive socket), stopping at `stop()` or after `maxMs`, whichever is first.
 */
export function startLoad(targets: { address: string; port: number; path: string }[], options: { concurrency?: number; maxMs?: number } = {}) {
  const concurrency = options.concurrency ?? 6;
  const maxMs = options.maxMs ?? 5 * 60_000;
  const report: LoadReport = { requests: 0, ok: 0, non2xx: 0, errors: 0, samples: [], latenciesMs: [] };
  const started = Date.now();
  let stopped = false;
  const fail = (text: string) => {
    if (report.samples.length < 10) report.samples.push(`${new Date().toISOString()} ${text}`);
  };
  const one = (target: (typeof targets)[number]) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: target.address, port: target.port, path: target.path, agent: false, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          report.requests++;
          report.latenciesMs.push(performance.now() - t0);
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) report.ok++;
          else {
            report.non2xx++;
            fail(`${target.address}: HTTP ${res.statusCode}`);
          }
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => {
        report.requests++;
        report.errors++;
        fail(`${target.address}: ${error.message}`);
        resolve();
      });
    });
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    let n = i;
    while (!stopped && Date.now() - started < maxMs) {
      await one(targets[n++ % targets.length]!);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    report,
    async stop(): Promise<LoadReport> {
      stopped = true;
      await Promise.all(loops);
      return report;
    },
  };
}

/** Runs `body` with steady load on `targets`; returns its result and the load report (load stopped either way). */
export async function underLoad<T>(targets: { address: string; port: number; path: string }[], body: () => Promise<T>): Promise<{ result: T; load: LoadReport }> {
  const load = startLoad(targets);
  try {
    const result = await body();
    return { result, load: await load.stop() };
  } catch (error) {
    await load.stop();
    throw error;
  }
}
