import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { AnswerReader, falcoRequest, printLoadResult, quantile, sendOnNewConnection } from './falco-wire.js';
import type { SlowRequest } from './cpu-holders.js';
import type { LoadSpec } from './load-process.js';

/**
 * An open-loop load at an even rate, for latency: request i is due at start + i/rate whether or not
 * earlier answers are back, and its latency runs from that due time (so a stall counts against
 * every request it delays: no coordinated omission). autocannon's `overallRate` is a quota per
 * second per connection (httpClient.js resets `reqsMadeThisSecond` every 1000 ms): it sends at full
 * speed until the quota is used, then waits, so its "half rate" measures bursts at full rate.
 *
 * Like Falco's HTTP output, each of `connections` senders has one request in flight, on a kept-alive
 * socket or on a new connection per alert; a request due while all are busy waits for the first free one. The client is a few lines on raw
 * sockets (Falco's request bytes, answers read by falco-wire.ts) so that it, not node:http's
 * client, can keep up with the rates the servers reach. Runs in its own process, like autocannon.
 */
const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec & { overallRate: number };
const body = readFileSync(spec.bodyFile);
const url = new URL(spec.url);
const request = falcoRequest(url, body);
const seconds = spec.durationSeconds ?? 5;
// The first 3 seconds, and at least the first 12,000 requests, warm the client up (its JIT, its
// sockets) at the same rate; not recorded. About 2.63 s after the load starts, something stalls
// this client and its server together for 20-30 ms (at times again near 2.85 s): at 2,000, 4,000
// and 8,000/s alike, so it is time, not a count of requests (session 20 read it as about 10,500
// requests, its runs being near 4,000/s); not tsx, not V8's background threads
// (--single-threaded), not the young generation's growth, and a start delayed by 2 s moves it along
// (session 23). With half a second of warm-up that one burst was most of the p99 in runs of 24,000
// requests (bare+log, 8 KB at 4,800/s: p99 2.3-3.4 ms, past it 0.4-0.65 ms), and with 12,000
// requests it still fell inside the measured window at the keep-alive half rates (11,000-12,600/s).
// Falco's senders keep their connections for hours: the steady state counts.
const warmup = Math.max(Math.round(spec.overallRate * 3), 12_000);
const total = warmup + Math.round(spec.overallRate * seconds);
const latencies = new Float64Array(total);
// What became of each request. The answer handler and the loop run the same code in the warm-up and
// in the measured window, and the window's counts are taken from these arrays once the run is over:
// a branch first taken in the window (its counters, its freeze sum, the moment it starts) left V8 no
// type feedback, and the window's first answers and freeze deoptimized the loop and the answer
// handler, which TurboFan then compiled again on the client's one cpu (17.8 and 10.5 ms on a
// background thread there, in a run traced in session 31 with --trace-opt --trace-deopt: a freeze of
// the client that every request due then paid for, counted against the target).
const OK = 0;
const NON_2XX = 1;
const FAILED = 2;
const outcomes = new Uint8Array(total);
let done = 0;
let sent = 0;
/** Requests 0 to dueCount - 1 are due (the loop's last look at the clock); those from `sent` on wait. */
let dueCount = 0;
const idle: Sender[] = [];
let started = 0;
const due = (i: number) => started + (i * 1000) / spec.overallRate;
let finish: () => void = () => {};
// The client's own freezes: a gap of over FREEZE_MS between two turns of its polling loop, the part
// of it in the measured window. The loop never waits (setImmediate), so such a gap is time the
// client did not get on with: the VM or the kernel took its cpu, its own garbage collection, or a
// slow system call of its own (a connection per alert calls connect() in the loop). Requests
// due in it leave late, and their latency from the due time is the client's. The loop runs until
// the last answer is in, so a freeze while the last answers come in is seen too.
const FREEZE_MS = 2;
let lastTurn = 0;
/** Each freeze of the loop from its start, as [from, to] pairs (performance.now()). */
const freezes: number[] = [];

// One of Falco's senders: one request in flight, on its kept-alive socket, or (`fresh`) on a new
// connection per alert that it closes once the answer is in (Falco 0.34, falco-wire.ts). As libcurl
// does, a kept-alive sender whose answer says `Connection: close` (or whose socket the server
// closed between requests) sends its next alert on a new connection.
class Sender {
  private socket: net.Socket | undefined;
  private current = -1;

  constructor(private readonly fresh: boolean) {
    if (!fresh) this.socket = this.connect();
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const answers = new AnswerReader();
    socket.on('data', (chunk: Buffer) => {
      for (const answer of answers.push(chunk)) {
        if (answer.close) this.drop(socket);
        this.settle(answer.ok, false);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.current >= 0) this.settle(false, true);
    });
    return socket;
  }

  // A socket the server closes is not written to again: the next alert goes on a new one.
  private drop(socket: net.Socket): void {
    socket.destroy();
    if (this.socket === socket) this.socket = undefined;
  }

  /** Resolves once a kept-alive sender is connected (a fresh one connects per alert). */
  ready(): Promise<void> {
    const socket = this.socket;
    return socket ? new Promise((resolve) => socket.once('connect', () => resolve())) : Promise.resolve();
  }

  close(): void {
    this.socket?.destroy();
  }

  send(i: number): void {
    this.current = i;
    if (this.fresh)
      sendOnNewConnection(url, request, (outcome) => this.settle(outcome === 'ok', outcome === 'error'));
    else (this.socket ??= this.connect()).write(request);
  }

  private settle(ok: boolean, failed: boolean): void {
    latencies[this.current] = performance.now() - due(this.current);
    outcomes[this.current] = failed ? FAILED : ok ? OK : NON_2XX;
    this.current = -1;
    if (++done === total) return finish();
    idle.push(this);
    dispatch();
  }
}

// Sends what is due on the senders that are free. The loop and every answer call it, the same code
// with or without a backlog: a backlog's first answer took a path the warm-up had not (the next
// waiting request sent from the answer handler) and deoptimized it, on a stall of the target's.
function dispatch(): void {
  while (sent < dueCount && idle.length > 0) idle.pop()!.send(sent++);
}

const senders = Array.from({ length: spec.connections }, () => new Sender(spec.newConnectionPerRequest));
await Promise.all(senders.map((sender) => sender.ready()));
idle.push(...senders);
started = performance.now();
lastTurn = started;
await new Promise<void>((resolve) => {
  finish = resolve;
  // Every loop turn, send what is due by now. setImmediate, not a 1 ms timer: the client's own
  // cpu is spent polling, so requests leave within microseconds of their due time, not in 1 ms bursts.
  const tick = () => {
    const now = performance.now();
    if (now - lastTurn > FREEZE_MS) freezes.push(lastTurn, now);
    lastTurn = now;
    dueCount = Math.min(total, Math.floor(((performance.now() - started) * spec.overallRate) / 1000) + 1);
    dispatch();
    // Past the last send the loop only watches for freezes, until the last answer settles.
    if (done < total) setImmediate(tick);
  };
  tick();
});
for (const sender of senders) sender.close();

const sorted = Array.from(latencies.subarray(warmup)).sort((a, b) => a - b);
const at = (q: number) => quantile(sorted, q);
// The window is measured from the answer to the last warm-up request.
const measuredFrom = due(warmup - 1) + latencies[warmup - 1]!;
const measuredFromEpoch = Math.round(performance.timeOrigin + measuredFrom);
const durationSeconds = (performance.now() - measuredFrom) / 1000;
const counted = [0, 0, 0];
for (let i = warmup; i < total; i++) counted[outcomes[i]!]!++;
const [ok2xx = 0, non2xx = 0, errors = 0] = counted;
// The part of each freeze in the measured window: requests due from its first request on.
let frozenMs = 0;
let longestFreeze = 0;
for (let k = 0; k < freezes.length; k += 2) {
  const gap = freezes[k + 1]! - Math.max(freezes[k]!, due(warmup));
  if (gap <= 0) continue;
  frozenMs += gap;
  longestFreeze = Math.max(longestFreeze, gap);
}
// Every warm-up request was answered (or failed) before the last measured one: the target's CPU
// between the harness' samples went to all `total` of them.
printLoadResult({ ok2xx, non2xx, errors }, durationSeconds, sorted, {
  warmupAnswered: warmup,
  clientFreeze: { longestMs: Number(longestFreeze.toFixed(1)), totalMs: Number(frozenMs.toFixed(1)) },
});
// BENCH_SLOW_FILE: the window's requests that took over BENCH_SLOW_MS (4 ms unless set), as JSON
// [{ dueMs, latencyMs }] with due times on CLOCK_MONOTONIC (perf record -k mono), for
// bench/who-held-the-cpus.ts. performance.now() runs on the same clock from another origin.
if (process.env.BENCH_SLOW_FILE) {
  const slowMs = Number(process.env.BENCH_SLOW_MS ?? 4);
  const monotonicOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  const slow: SlowRequest[] = [];
  for (let i = warmup; i < total; i++)
    if (latencies[i]! > slowMs) slow.push({ dueMs: due(i) + monotonicOffset, latencyMs: latencies[i]! });
  writeFileSync(process.env.BENCH_SLOW_FILE, JSON.stringify(slow));
}
// BENCH_PACED_DETAIL=1: the tail on stderr, and when (ms into the run) requests waited over 10 ms:
// a full garbage collection shows as a burst of them every second or so.
if (process.env.BENCH_PACED_DETAIL) {
  const slow: number[] = [];
  for (let i = warmup; i < total; i++)
    if (latencies[i]! > 10) slow.push(Math.round(((i - warmup) * 1000) / spec.overallRate));
  const bursts = slow.filter((ms, k) => k === 0 || ms - slow[k - 1]! > 50);
  process.stderr.write(
    `p90 ${at(0.9).toFixed(2)} p95 ${at(0.95).toFixed(2)} p99.9 ${at(0.999).toFixed(2)} max ${at(1).toFixed(2)} ms; ` +
      `${slow.length} requests over 10 ms, in bursts starting at ${bursts.join(' ')} ms (window from ${measuredFromEpoch}); client frozen ${frozenMs.toFixed(1)} ms, longest ${longestFreeze.toFixed(1)}\n`,
  );
}
