import net from 'node:net';
import type { LoadResult } from './load-process.js';

/**
 * What Falco's libcurl puts on the wire for one alert, and a reader for the answers, shared by the
 * raw-socket load clients (paced-load.ts, connection-per-alert-load.ts). Captured from the real
 * Falco 0.34.1 and 0.40.0 builds: these five headers in this order, no Connection or Expect header.
 */
export function falcoRequest(url: URL, body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: falcosecurity/falco\r\n` +
        `Accept: */*\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
}

/** One whole answer: whether it was a 2xx, and whether it closes its connection (`Connection: close`). */
export interface Answer {
  ok: boolean;
  close: boolean;
}

/**
 * Collects one connection's bytes and hands back each whole answer, read by Content-Length or, for
 * the bare server's chunked answers, up to the last chunk.
 */
export class AnswerReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns each answer they completed. */
  push(chunk: Buffer): Answer[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const answers: Answer[] = [];
    for (;;) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) return answers;
      const head = this.buffered.subarray(0, end).toString('latin1');
      let next: number;
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        const last = this.buffered.indexOf('\r\n0\r\n\r\n', end + 2);
        if (last < 0) return answers;
        next = last + 7;
      } else {
        next = end + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (this.buffered.length < next) return answers;
      }
      this.buffered = this.buffered.subarray(next);
      answers.push({ ok: head.startsWith('HTTP/1.1 2'), close: /\r\nconnection: *close\r?$/im.test(head) });
    }
  }
}

/** How one alert sent on its own connection ended. */
export type AlertOutcome = 'ok' | 'non2xx' | 'error';

/**
 * One alert as Falco 0.34/0.35 sends it (captured from the real 0.34.1 build): a new TCP connection
 * (TCP_NODELAY), the request in one write, the whole answer read, then close(2) from this side, so
 * the client's FIN comes first. `settled` is called once: with the answer's status, or 'error' when
 * the connection failed or closed before the answer was whole.
 */
export function sendOnNewConnection(
  url: URL,
  request: Buffer,
  settled: (outcome: AlertOutcome) => void,
): void {
  const answers = new AnswerReader();
  const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  let done = false;
  const settle = (outcome: AlertOutcome) => {
    if (done) return;
    done = true;
    socket.destroy();
    settled(outcome);
  };
  socket.on('data', (chunk: Buffer) => {
    const [answer] = answers.push(chunk);
    if (answer !== undefined) settle(answer.ok ? 'ok' : 'non2xx');
  });
  socket.on('error', () => settle('error'));
  socket.on('close', () => settle('error'));
  socket.write(request);
}

/** The quantile `q` (0..1) of latencies sorted ascending; NaN when there are none. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** A raw-socket client's counts and sorted latencies (ms) as the one JSON line the harness reads. */
export function printLoadResult(
  counts: { ok2xx: number; non2xx: number; errors: number },
  durationSeconds: number,
  sorted: ArrayLike<number>,
  even?: Pick<LoadResult, 'warmupAnswered' | 'clientFreeze'>,
): void {
  const result: LoadResult = {
    ...counts,
    durationSeconds,
    alertsPerSecond: counts.ok2xx / durationSeconds,
    p50Ms: Number(quantile(sorted, 0.5).toFixed(2)),
    p99Ms: Number(quantile(sorted, 0.99).toFixed(2)),
    ...even,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
