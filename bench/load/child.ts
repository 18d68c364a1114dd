// The load generator, in its own process so that the bench's own work cannot stall it: loadtest (npm) at a
// fixed request rate (open model: a request leaves every 1/rate s whether or not earlier ones answered), a new
// connection per request (agent: false), bounded by `maxSeconds`. Every request is recorded as
// [finished at (ms since the epoch), latency ms (-1: none), HTTP status (0: connection error), error text index];
// the parent asks for the records with "stop" and bins them by phase.
import { loadTest } from 'loadtest';

const [url, rate, maxSeconds] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const records: [number, number, number, number][] = [];
const errors: string[] = [];
const errorIndex = new Map<string, number>();

function indexOf(text: string): number {
  // Connection errors carry the loadtest id in their text ("Connection 12 failed"); keep the kind only.
  const kind = text.replace(/Connection \d+ failed/, 'Connection failed');
  let i = errorIndex.get(kind);
  if (i === undefined) {
    i = errors.length;
    errors.push(kind);
    errorIndex.set(kind, i);
  }
  return i;
}

void loadTest({
  url,
  requestsPerSecond: rate,
  maxSeconds,
  timeout: 30_000,
  quiet: true,
  statusCallback: (error: string | null, result?: { statusCode: number; requestElapsed?: number }) => {
    const now = Date.now();
    if (result) records.push([now, result.requestElapsed ?? -1, result.statusCode, error ? indexOf(String(error)) : -1]);
    else records.push([now, -1, 0, indexOf(String(error))]);
  },
});

process.on('message', (message) => {
  if (message !== 'stop') return;
  process.send!({ records, errors }, () => process.exit(0));
});
process.send!('started');
