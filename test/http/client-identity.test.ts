import { readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClientIdentity } from '../../src/http/client-identity.js';
import { startTlsServer } from '../../src/server/start-tls-server.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki('falco-sensor-7');
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

describe('readClientIdentity', () => {
  // An alert whose connection closed after its body arrived is ingested in a later turn: its
  // socket has no handle by then, and getPeerCertificate() answers null (found by review: the
  // turn threw "Cannot read properties of null (reading 'subject')" and the alert was lost).
  it('names the client of a verified connection after that connection closed', async () => {
    let handed: (socket: TLSSocket) => void;
    const requested = new Promise<TLSSocket>((resolve) => (handed = resolve));
    const server: Server = await startTlsServer((req) => handed(req.socket as TLSSocket), {
      host: '127.0.0.1',
      tls: {
        port: 0,
        certFile: pki.serverCert,
        keyFile: pki.serverKey,
        clientCaFile: pki.caCert,
        reloadCheckMs: 60_000,
      },
    });
    const client = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
      checkServerIdentity: () => undefined,
    });
    client.on('error', () => {});
    client.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    try {
      const socket = await requested;
      socket.destroy();
      await new Promise((resolve) => socket.once('close', resolve));
      expect(socket.getPeerCertificate()).toBeNull();
      expect(readClientIdentity(socket)).toEqual({ cn: 'falco-sensor-7' });
    } finally {
      client.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
