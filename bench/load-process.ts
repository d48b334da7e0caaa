import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

/** What the harness asks of one load run (passed as JSON in argv[2]). */
export interface LoadSpec {
  url: string;
  bodyFile: string;
  connections: number;
  durationSeconds?: number;
  amount?: number;
  /** A new connection per alert, closed by the client after the answer (Falco 0.34/0.35): run by bench/connection-per-alert-load.ts. */
  newConnectionPerRequest: boolean;
  overallRate?: number;
  /** Send at an even `overallRate` with bench/paced-load.ts (latency runs), not autocannon. */
  paced?: boolean;
  /** Memory run: replace the sample's rule name with one of this many distinct names. */
  distinctRules?: number;
}

/** What one load run measured; printed as one JSON line on stdout. */
export interface LoadResult {
  ok2xx: number;
  non2xx: number;
  errors: number;
  durationSeconds: number;
  alertsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * The even-rate client's own warm-up: requests answered before its measured window. Not in the
   * counts above, but the target spent CPU on them between the harness' two samples.
   */
  warmupAnswered?: number;
  /**
   * The even-rate client's own freezes in its measured window (bench/paced-load.ts): turns of its
   * polling loop over 2 ms apart, the longest and their sum.
   */
  clientFreeze?: { longestMs: number; totalMs: number };
}

// Keep-alive load with autocannon. Runs in its own process so the load generator never shares an
// event loop with a server.
const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const body = readFileSync(spec.bodyFile, 'utf8');
const RULE = '"rule":"Terminal shell in container"';
let sent = 0;
const distinct = spec.distinctRules;

const result = await autocannon({
  url: spec.url,
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'user-agent': 'falcosecurity/falco',
  },
  body,
  connections: spec.connections,
  ...(spec.amount ? { amount: spec.amount } : { duration: spec.durationSeconds ?? 5 }),
  ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  ...(distinct
    ? {
        requests: [
          {
            setupRequest: (request: autocannon.Request) => ({
              ...request,
              body: body.replace(RULE, `"rule":"bench rule ${sent++ % distinct}"`),
            }),
          },
        ],
      }
    : {}),
});

const out: LoadResult = {
  ok2xx: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors,
  durationSeconds: result.duration,
  alertsPerSecond: result['2xx'] / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
