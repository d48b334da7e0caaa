import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertFalcoRunning,
  findOutputErrors,
  startFalco,
  type RunningFalco,
} from '../helpers/falco-process.js';
import { isAtLeast, type FalcoOutput, type FalcoRuntime } from '../helpers/falco-runtime.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { MountedSecret } from '../helpers/mounted-secret.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { e2eRuntimes, makeNonce, runInContainer, waitFor, writeBelowRoot } from './falco-harness.js';

const { runtimes, skipReason } = e2eRuntimes();
const CLIENT_CN = 'falco-e2e-node';
const KEEP_ALIVE_MS = 1_000;
const LIMITS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: KEEP_ALIVE_MS,
  stallTimeoutMs: 30_000,
  maxRequestsPerSocket: 0,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 256,
};
// http_output.mtls arrived in Falco 0.36.
const hasMtls = (runtime: FalcoRuntime) => isAtLeast(runtime.version, 36);

type Line = { event?: string; alert?: { output_fields?: Record<string, unknown> }; client?: { cn?: string } };
const writesOf = (receiver: TestReceiver, file: string) =>
  (receiver.logLines as Line[]).filter(
    (line) => line.event === 'falco_alert' && line.alert?.output_fields?.['fd.name'] === file,
  );

const writesUnder = (receiver: TestReceiver, prefix: string) =>
  (receiver.logLines as Line[]).filter(
    (line) =>
      line.event === 'falco_alert' && String(line.alert?.output_fields?.['fd.name']).startsWith(prefix),
  );

/** Writes `file` below / in a container until its alert reached `receiver` (Falco attaches late). */
async function provokeUntilReceived(
  receiver: TestReceiver,
  falco: RunningFalco,
  prefix: string,
): Promise<Line> {
  for (let attempt = 0; attempt < 30; attempt++) {
    assertFalcoRunning(falco);
    const file = `${prefix}-${attempt}`;
    runInContainer(`echo x > ${file}`);
    try {
      return await waitFor(file, () => writesOf(receiver, file)[0], 1_500);
    } catch {
      // Not attached yet.
    }
  }
  throw new Error(`no alert for ${prefix}-* reached the receiver`);
}

async function withFalco<T>(
  runtime: FalcoRuntime,
  output: FalcoOutput,
  name: string,
  use: (falco: RunningFalco) => Promise<T>,
) {
  const falco = await startFalco(runtime, output, name);
  try {
    return await use(falco);
  } finally {
    await falco.stop();
  }
}

describe.skipIf(runtimes.length === 0)(
  `every way Falco sends${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    describe.each(runtimes.map((runtime) => [runtime.version, runtime] as const))(
      'Falco %s',
      (_version, runtime) => {
        const nonce = makeNonce();
        let receiver: TestReceiver;
        const userAgents: string[] = [];
        let connections = 0;
        const secret = randomBytes(24).toString('hex');

        beforeAll(async () => {
          receiver = await startReceiver({ pathSecret: secret, limits: LIMITS });
          receiver.server.on('request', (req: { headers: Record<string, unknown> }) =>
            userAgents.push(String(req.headers['user-agent'])),
          );
          receiver.server.on('connection', () => connections++);
        });
        afterAll(() => receiver?.close());

        it("delivers to the secret path with a changed user_agent, and its connection survives the receiver's keep-alive timeout", async () => {
          const userAgent = `falco-e2e/${nonce}`;
          const url = `http://127.0.0.1:${receiver.port}/alerts/${secret}`;
          await withFalco(runtime, { url, userAgent }, `transports-path-${nonce}`, async (falco) => {
            await provokeUntilReceived(receiver, falco, `/falco-e2e-path-${nonce}`);
            const connectionsBefore = connections;

            // Idle longer than the receiver's keep-alive timeout: it closes Falco's connection.
            await new Promise((resolve) => setTimeout(resolve, KEEP_ALIVE_MS * 2.5));
            const file = `/falco-e2e-after-idle-${nonce}`;
            runInContainer(`echo x > ${file}`);

            await waitFor('the alert after the idle timeout', () => writesOf(receiver, file)[0], 10_000);
            expect(writesOf(receiver, file)).toHaveLength(1);
            expect(connections).toBeGreaterThan(connectionsBefore);
            expect(userAgents.length).toBeGreaterThan(0);
            expect(new Set(userAgents)).toEqual(new Set([userAgent]));
            expect(findOutputErrors(falco.log())).toEqual([]);
          });
        }, 120_000);

        // Falco's own default: the receiver refuses each text alert (415), and its log keeps the text.
        it('with json_output false, keeps each text alert in the refusal log line, exactly as Falco printed it', async () => {
          type Refusal = { event?: string; reason?: string; status?: number; text?: string };
          const refusalOf = (file: string) =>
            (receiver.logLines as Refusal[]).find(
              (line) => line.event === 'alert_rejected' && line.text?.includes(`${file} `),
            );
          const url = `http://127.0.0.1:${receiver.port}/alerts/${secret}`;
          await withFalco(runtime, { url, jsonOutput: false }, `transports-text-${nonce}`, async (falco) => {
            let refusal: Refusal | undefined;
            for (let attempt = 0; attempt < 30 && !refusal; attempt++) {
              assertFalcoRunning(falco);
              const file = `/falco-e2e-text-${nonce}-${attempt}`;
              runInContainer(`echo x > ${file}`);
              refusal = await waitFor(file, () => refusalOf(file), 1_500).catch(() => undefined);
            }
            expect(refusal).toMatchObject({ reason: 'unsupported_media_type', status: 415 });
            const text = refusal?.text ?? '';
            expect(text).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{9}: (Error|Warning|Notice|Critical) /);
            // The same line Falco wrote to its own stdout.
            expect(falco.log()).toContain(text.trim());
          });
        }, 120_000);

        // 0.34.1 has no http_output.mtls: its cases are not registered (nothing to skip).
        if (hasMtls(runtime))
          describe('http_output.mtls against a listener that requires client certificates', () => {
            let pki: TestPki;
            let tls: TestReceiver;

            beforeAll(async () => {
              pki = await makeTestPki(CLIENT_CN);
              tls = await startReceiver({
                tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
                requireClientCert: true,
              });
            });
            afterAll(async () => {
              await tls?.close();
              if (pki) rmSync(pki.dir, { recursive: true, force: true });
            });

            it('delivers with a client certificate from the trusted CA, logged with its CN', async () => {
              const url = `https://127.0.0.1:${tls.tlsPort}/alerts`;
              const mtls = { cert: pki.clientCert, key: pki.clientKey, ca: pki.caCert };
              await withFalco(runtime, { url, mtls }, `transports-mtls-${nonce}`, async (falco) => {
                const line = await provokeUntilReceived(tls, falco, `/falco-e2e-mtls-${nonce}`);
                expect(line.client).toMatchObject({ cn: CLIENT_CN });
                expect(findOutputErrors(falco.log())).toEqual([]);
              });
            }, 120_000);

            it('delivers nothing with a certificate from another CA, and Falco logs why', async () => {
              const url = `https://127.0.0.1:${tls.tlsPort}/alerts`;
              const mtls = { cert: pki.rogueCert, key: pki.rogueKey, ca: pki.caCert };
              const before = tls.logLines.filter((line) => line.event === 'falco_alert').length;
              await withFalco(runtime, { url, mtls }, `transports-rogue-${nonce}`, async (falco) => {
                // Keep writing until Falco logged its failed deliveries (the probe attaches late).
                const errors = await (async () => {
                  for (let attempt = 0; attempt < 30; attempt++) {
                    assertFalcoRunning(falco);
                    runInContainer(`echo x > /falco-e2e-rogue-${nonce}-${attempt}`);
                    const found = findOutputErrors(falco.log());
                    if (found.length > 0) return found;
                    await new Promise((resolve) => setTimeout(resolve, 1_000));
                  }
                  return [];
                })();
                expect(errors.length).toBeGreaterThan(0);
                // With TLS 1.3 the server refuses the certificate after curl's handshake finished:
                // Falco 0.40 then logs "Server returned nothing (no headers, no data)", or, when the
                // server's alert and reset come first, "Failure when receiving data from the peer".
                expect(errors.join('\n')).toMatch(
                  /SSL|certificate|TLS|handshake|Server returned nothing|Failure when receiving data from the peer/i,
                );
              });
              expect(tls.logLines.filter((line) => line.event === 'falco_alert')).toHaveLength(before);
            }, 120_000);

            // Falco keeps one connection while it sends: after a change of ca.crt the receiver
            // answers it once more with Connection: close, and the reconnection is verified anew.
            it('after the client CA changes, loses nothing of a sensor the new bundle trusts, and stops one it does not at its next answer', async () => {
              const mount = new MountedSecret();
              const files = { 'tls.crt': pki.serverCert, 'tls.key': pki.serverKey };
              mount.write({ ...files, 'ca.crt': pki.caCert });
              const rotating = await startReceiver({
                tls: {
                  certFile: mount.path('tls.crt'),
                  keyFile: mount.path('tls.key'),
                  clientCaFile: mount.path('ca.crt'),
                  reloadCheckMs: 100,
                },
                requireClientCert: true,
              });
              const reloads = () => rotating.logLines.filter((line) => line.event === 'tls_reloaded');
              const url = `https://127.0.0.1:${rotating.tlsPort}/alerts`;
              const mtls = { cert: pki.clientCert, key: pki.clientKey, ca: pki.caCert };
              try {
                await withFalco(runtime, { url, mtls }, `transports-ca-rotation-${nonce}`, async (falco) => {
                  await provokeUntilReceived(rotating, falco, `/falco-e2e-rotation-ready-${nonce}`);
                  const streaming = async (prefix: string, change: () => void) => {
                    const stream = writeBelowRoot(prefix, 3_000);
                    await waitFor(
                      `${prefix} under way`,
                      () => (writesUnder(rotating, prefix).length >= 200 ? true : undefined),
                      60_000,
                    );
                    const reloaded = reloads().length;
                    change();
                    await waitFor('the new ca.crt loaded', () => reloads()[reloaded], 5_000);
                    const atChange = writesUnder(rotating, prefix).length;
                    await stream;
                    return atChange;
                  };

                  // The new CA put beside the old one: Falco reconnects and every alert arrives.
                  const kept = `/falco-e2e-ca-kept-${nonce}-`;
                  await streaming(kept, () =>
                    mount.write({ ...files, 'ca.crt': [pki.rogueCaCert, pki.caCert] }),
                  );
                  await waitFor(
                    'every alert of the stream',
                    () => (writesUnder(rotating, kept).length === 3_000 ? true : undefined),
                    30_000,
                  );
                  expect(reloads()[0]).toMatchObject({ clientCaChanged: true });
                  expect(reloads()[0]!.connectionsToReverify).toBeGreaterThanOrEqual(1);
                  expect(findOutputErrors(falco.log())).toEqual([]);

                  // The old CA taken out: one more answer on the open connection at most, then
                  // Falco's handshakes fail (before, it sent on until its connection idled).
                  const cut = `/falco-e2e-ca-cut-${nonce}-`;
                  const atChange = await streaming(cut, () =>
                    mount.write({ ...files, 'ca.crt': pki.rogueCaCert }),
                  );
                  await new Promise((resolve) => setTimeout(resolve, 3_000));
                  expect(writesUnder(rotating, cut).length - atChange).toBeLessThanOrEqual(2);
                  expect(findOutputErrors(falco.log()).length).toBeGreaterThan(0);
                });
              } finally {
                await rotating.close();
                rmSync(mount.dir, { recursive: true, force: true });
              }
            }, 180_000);
          });
      },
    );
  },
);
