import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, type JsonValue } from '../../src/alerts/parse-json.js';
import { findOutputErrors, startFalco } from '../helpers/falco-process.js';
import { isAtLeast } from '../helpers/falco-runtime.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import {
  alertLines,
  e2eRuntimes,
  makeNonce,
  metricSum,
  waitFor,
  waitUntilDetecting,
  writeBelowRoot,
  type AlertLine,
} from './falco-harness.js';

const { runtimes, skipReason } = e2eRuntimes();
const WRITES = 100;
const DROP_RULE = 'Falco internal: syscall event drop';
const METRICS_RULE = 'Falco internal: metrics snapshot';

// Settings that change the body, in both eras: no `output`, no `tags`, `evt.time.iso8601` for
// `evt.time`, buffered outputs, and an internal alert a second (0.34's has no `source`).
const BOTH_ERAS = [
  'json_include_output_property=false',
  'json_include_tags_property=false',
  'time_format_iso_8601=true',
  'buffered_outputs=true',
  'syscall_event_drops.simulate_drops=true',
  'syscall_event_drops.threshold=0',
  'syscall_event_drops.rate=100',
  'syscall_event_drops.max_burst=100',
];

// 0.39+ (0.40.0 here): what changes the request (TE: gzip and Connection: TE from compress_uploads,
// TCP keep-alive, response bodies echoed into Falco's log) and more of the body (`message`, metrics
// snapshots with doubles, extra fields, one of them a `__proto__` key).
const FROM_0_39 = [
  'json_include_message_property=true',
  'http_output.compress_uploads=true',
  'http_output.keep_alive=true',
  'http_output.echo=true',
  'metrics.enabled=true',
  'metrics.interval=1s',
  'metrics.output_rule=true',
  'append_output[1].extra_fields[0]=evt.cpu',
  'append_output[1].extra_fields[1].__proto__=%proc.name',
];

/** JSON text with object keys sorted at every level and integers exact: equal alerts, equal text. */
function canonical(value: JsonValue): string {
  if (typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key]!)}`).join(',')}}`;
}

function parsed(text: string): JsonValue {
  const result = parseJson(text);
  if (!result.ok) throw new Error(`not JSON (${result.message}): ${text.slice(0, 200)}`);
  return result.value;
}

/** Each stored alert as `GET /alerts/:id` serves it (its `alert`), in batches. */
async function fetchStored(receiver: TestReceiver, lines: AlertLine[]): Promise<JsonValue[]> {
  const alerts: JsonValue[] = [];
  for (let i = 0; i < lines.length; i += 50) {
    const batch = lines.slice(i, i + 50);
    const texts = await Promise.all(
      batch.map(async (line) => {
        const res = await fetch(`http://127.0.0.1:${receiver.port}/alerts/${line.alertId}`);
        expect(res.status).toBe(200);
        return res.text();
      }),
    );
    alerts.push(...texts.map((text) => (parsed(text) as { alert: JsonValue }).alert));
  }
  return alerts;
}

// Falco writes every alert to its own file as well: what it sent over http_output, byte for byte.
// Everything the receiver stored must be those alerts, all of them, exactly.
describe.skipIf(runtimes.length === 0)(
  `real Falco with the output settings that change what it sends${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    describe.each(runtimes.map((runtime) => [runtime.version, runtime] as const))(
      'Falco %s',
      (version, runtime) => {
        const nonce = makeNonce();
        const recent = isAtLeast(version, 39);
        const file = join(tmpdir(), `falco-options-${nonce}.jsonl`);
        let pki: TestPki | undefined;
        let receiver: TestReceiver;
        const requests: Array<Record<string, unknown>> = [];

        beforeAll(async () => {
          // 0.39+ over TLS, its server verified with http_output.ca_cert and no client certificate.
          pki = recent ? await makeTestPki('falco-e2e-node') : undefined;
          receiver = await startReceiver({
            ...(pki ? { tls: { certFile: pki.serverCert, keyFile: pki.serverKey } } : {}),
            // Room for every alert Falco sees on a shared machine while it runs.
            env: { STORE_MAX_ALERTS: '50000', STORE_MAX_BYTES: String(256 * 1024 * 1024) },
          });
          // Falco's requests only: the test's own GETs come to the same listener.
          (receiver.tlsServer ?? receiver.server).on(
            'request',
            (req: { method: string; headers: Record<string, unknown> }) => {
              if (req.method === 'POST') requests.push(req.headers);
            },
          );
        });
        afterAll(async () => {
          await receiver?.close();
          if (pki) rmSync(pki.dir, { recursive: true, force: true });
          rmSync(file, { force: true });
        });

        it(`stores every alert exactly as Falco wrote it to its own file, with ${recent ? 'compressed answers asked for, TCP keep-alive, echo, message, metrics snapshots and extra fields over TLS, and ' : ''}output and tags off, ISO 8601 times, buffered outputs and internal alerts`, async () => {
          const url = pki
            ? `https://127.0.0.1:${receiver.tlsPort}/alerts`
            : `http://127.0.0.1:${receiver.port}/alerts`;
          const options = [
            ...BOTH_ERAS,
            ...(recent ? [...FROM_0_39, `http_output.ca_cert=${pki!.caCert}`] : []),
            'file_output.enabled=true',
            `file_output.filename=${file}`,
            'file_output.keep_alive=true',
          ];
          const falco = await startFalco(runtime, { url, options }, `options-${nonce}`);
          const service = { lines: receiver.logLines };
          const prefix = `/falco-e2e-options-${nonce}-`;
          const ours = () =>
            alertLines(service, (line) => String(line.alert.output_fields?.['fd.name']).startsWith(prefix));
          const ofRule = (rule: string) => alertLines(service, (line) => line.alert.rule === rule);
          try {
            await waitUntilDetecting(service, nonce, falco);
            await writeBelowRoot(prefix, WRITES);
            await waitFor(
              'the writes and the internal alerts',
              () =>
                ours().length >= WRITES &&
                ofRule(DROP_RULE).length > 0 &&
                (!recent || ofRule(METRICS_RULE).length > 0)
                  ? true
                  : undefined,
              30_000,
            );
          } finally {
            await falco.stop();
          }
          // Falco sent all it had before it exited: wait for the last ones to be logged.
          let last = -1;
          await waitFor('the receiver to settle', () => {
            const now = receiver.logLines.length;
            return now === last ? true : ((last = now), undefined);
          });

          const written = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(parsed);
          const lines = alertLines(service, () => true);
          const stored = await fetchStored(receiver, lines);
          expect(stored.length).toBeGreaterThanOrEqual(WRITES);
          expect(stored.map(canonical).sort()).toEqual(written.map(canonical).sort());
          // One request an alert: none sent twice, none refused.
          expect(requests).toHaveLength(written.length);
          expect(metricSum(await receiver.metricsText(), 'falco_alerts_rejected_total')).toBe(0);
          expect(findOutputErrors(falco.log())).toEqual([]);

          // The settings took: the bodies are the shapes they make.
          type Stored = Record<string, JsonValue> & { output_fields: Record<string, JsonValue> };
          const write = stored[lines.indexOf(ours()[0]!)] as Stored;
          expect(write).not.toHaveProperty('output');
          expect(write).not.toHaveProperty('tags');
          expect(write.output_fields).not.toHaveProperty(['evt.time']);
          expect(typeof write.output_fields['evt.time.iso8601']).toBe('bigint');
          const drop = ofRule(DROP_RULE)[0]!.alert as Record<string, unknown>;
          expect(drop).toMatchObject({ priority: 'Debug' });
          expect(drop['source']).toBe(recent ? 'internal' : undefined);
          expect(new Set(requests.map((headers) => headers['content-type']))).toEqual(
            new Set(['application/json']),
          );
          if (recent) {
            expect(write['message']).toEqual(expect.stringContaining(prefix));
            expect(Object.hasOwn(write.output_fields, '__proto__')).toBe(true);
            expect(write.output_fields['__proto__']).toBe('sh');
            expect(new Set(requests.map((headers) => headers['te']))).toEqual(new Set(['gzip']));
            // echo: Falco prints every answer's body; a 202 to Falco has none.
            expect(falco.log()).not.toContain('"receivedAt"');
          }
        }, 120_000);
      },
    );
  },
);
