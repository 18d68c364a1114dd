// What the hosts themselves spend on a deploy: `systemctl restart` until GET /readyz answers 200, measured on
// the host (curl every 20 ms), with no deploy tool involved. A tool's overhead is its wall time above this.
import { onHost, onHosts, type LabHost, type LabInfo } from '../lib/lab.js';
import { median } from '../lib/util.js';

const restartUntilReady = (app: string, port: number, times: number) =>
  [
    `for i in $(seq ${times}); do`,
    '  t0=$(date +%s%N)',
    `  systemctl restart ${app}.service`,
    `  until curl -fso /dev/null --max-time 2 http://127.0.0.1:${port}/readyz; do sleep 0.02; done`,
    '  echo $(( ($(date +%s%N) - t0) / 1000000 ))',
    'done',
  ].join('\n');

export interface Floor {
  /** Median restart→ready per host, ms. */
  perHost: number[];
  /** One host after another: the sum of the per-host medians. */
  serialMs: number;
  /** Every host at once: the slowest host, ms (median over repetitions). */
  parallelMs: number;
}

export async function measureFloor(lab: LabInfo, hosts: LabHost[], app: string, port: number, times = 3): Promise<Floor> {
  const perHost: number[] = [];
  for (const host of hosts) {
    const out = await onHost(lab, host, restartUntilReady(app, port, times));
    perHost.push(median(out.stdout.trim().split('\n').map(Number)));
  }
  const parallel: number[] = [];
  for (let i = 0; i < times; i++) {
    const outs = await onHosts(lab, hosts, restartUntilReady(app, port, 1));
    parallel.push(Math.max(...outs.map((o) => Number(o.stdout.trim()))));
  }
  return { perHost, serialMs: perHost.reduce((a, b) => a + b, 0), parallelMs: median(parallel) };
}
