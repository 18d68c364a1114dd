// loadtest 8 ships no types; the part of its API the bench uses.
declare module 'loadtest' {
  export interface LoadTestOptions {
    url: string;
    requestsPerSecond?: number;
    maxSeconds?: number;
    maxRequests?: number;
    timeout?: number;
    quiet?: boolean;
    agentKeepAlive?: boolean;
    statusCallback?: (error: string | null, result?: { statusCode: number; requestElapsed?: number }) => void;
  }
  export function loadTest(options: LoadTestOptions): Promise<unknown>;
}
