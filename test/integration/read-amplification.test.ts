import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

const MiB = 1024 * 1024;
const QUERY_MAX_BYTES = 4 * MiB;
const STORED = 32;
const READERS = 20;
// Above 2^53: JSON.parse would round it, the stored text keeps every digit.
const EXACT = '1781515904611094417';

// Fetches the URL N times at once and prints the body sizes as JSON.
const READERS_SCRIPT = `
const [url, n] = process.argv.slice(1);
Promise.all(Array.from({ length: Number(n) }, () => fetch(url).then((r) => r.arrayBuffer()).then((b) => b.byteLength)))
  .then((sizes) => process.stdout.write(JSON.stringify(sizes)));
`;

// An alert of about 1 MB, as a custom rule with a huge output field could produce.
const bigAlert = (index: number) =>
  `{"rule":"Big ${index}","priority":"Warning","time":"2026-11-30T12:00:00.000000000Z","output":"x",` +
  `"output_fields":{"evt.num":${EXACT},"blob":"${'a'.repeat(1000 * 1000)}"}}`;

// Regression (issue 18.4): one GET /alerts?limit=1000 over 32 alerts of 1 MB was 33 MB, every alert
// re-parsed and re-serialised, and 20 of them at once held /healthz for 4 s.
describe('GET /alerts over large stored alerts', () => {
  let base: string;
  beforeAll(async () => {
    // Its own process: the readers' work in this one must not count against the probes' latency.
    const service = await spawnService(
      {
        STORE_MAX_BYTES: String(48 * MiB),
        QUERY_MAX_BYTES: String(QUERY_MAX_BYTES),
        // Room for all 20 answers at once (each reserves up to QUERY_MAX_BYTES plus the alert that
        // crosses it), all from 127.0.0.1: this is about the loop staying free while they are
        // written, paced; the budget and its per-address share have their own tests.
        QUERY_MAX_INFLIGHT_BYTES: String(2 * READERS * QUERY_MAX_BYTES),
        QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(2 * READERS * QUERY_MAX_BYTES),
      },
      { keepLine: () => false },
    );
    base = `http://127.0.0.1:${service.port}`;
    for (let index = 0; index < STORED; index++) {
      const res = await fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: bigAlert(index),
      });
      expect(res.status).toBe(202);
    }
  }, 60_000);
  afterAll(() => killSpawned());

  it('caps the answer at QUERY_MAX_BYTES with a truncated marker, keeping 19-digit integers exact', async () => {
    const res = await fetch(`${base}/alerts?limit=1000`);
    const text = await res.text();
    const body = JSON.parse(text) as {
      count: number;
      truncated?: boolean;
      alerts: Array<{ alert: { rule: string } }>;
    };

    expect(res.status).toBe(200);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(QUERY_MAX_BYTES);
    expect(body.truncated).toBe(true);
    expect(body.count).toBe(body.alerts.length);
    expect(body.count).toBeGreaterThanOrEqual(3);
    expect(body.alerts[0]?.alert.rule).toBe(`Big ${STORED - 1}`);
    expect(text.split(`"evt.num":${EXACT},`)).toHaveLength(body.count + 1);
  });

  it('serves one stored alert as received, digits and all', async () => {
    const list = (await (await fetch(`${base}/alerts?limit=1`)).json()) as { alerts: Array<{ id: string }> };
    const text = await (await fetch(`${base}/alerts/${list.alerts[0]!.id}`)).text();

    expect(text).toContain(`"alert":${bigAlert(STORED - 1)}}`);
  });

  it('answers /healthz while 20 readers fetch the list at once', { timeout: 60_000 }, async () => {
    // The readers run in a process of their own, so their work does not delay this one's probes.
    let readsDone = false;
    const reads = execa(process.execPath, [
      '-e',
      READERS_SCRIPT,
      `${base}/alerts?limit=1000`,
      String(READERS),
    ]);
    void reads.finally(() => (readsDone = true));
    const probes: Array<{ ms: number; status: number; during: boolean }> = [];
    while (!readsDone) {
      const started = performance.now();
      const res = await fetch(`${base}/healthz`);
      probes.push({ ms: performance.now() - started, status: res.status, during: !readsDone });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const sizes = JSON.parse((await reads).stdout) as number[];

    expect(sizes).toHaveLength(READERS);
    expect(sizes.filter((size) => !(size > MiB && size <= QUERY_MAX_BYTES))).toEqual([]);
    // Probes kept getting answers while the reads were going, not only after them (before the
    // fix one probe waited about 4 s). A median, generous on a shared 2-core machine where a
    // single probe can wait out a descheduled process.
    expect(probes.filter((probe) => probe.during).length).toBeGreaterThanOrEqual(5);
    expect(probes.every((probe) => probe.status === 200)).toBe(true);
    const sorted = probes.map((probe) => probe.ms).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(200);
  });
});
