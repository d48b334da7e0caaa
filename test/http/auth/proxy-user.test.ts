import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isTrustedPeer } from '../../../src/http/auth/proxy-user.js';
import { TRIGGER_TOKEN, VIEWER_TOKEN, startAuthTestServer } from './auth-test-server.js';

const SHELL_BODY = JSON.stringify({ backend: 'docker', image: 'not-an-allowed-image:1' });
const auditLines = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.event === 'trigger_audit');

describe('AUTH_PROXY_USER_HEADER from AUTH_PROXY_CIDRS', () => {
  it('trusts the header from a listed address: the user reads and appears in the trigger audit line', async () => {
    const server = await startAuthTestServer({
      VIEWER_TOKEN,
      AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
      AUTH_PROXY_CIDRS: '127.0.0.1/32, ::1',
    });
    try {
      const read = await server.get('/alerts', { 'X-Forwarded-User': 'alice@example.org' });
      const who = await server.get('/ui/session', { 'X-Forwarded-User': 'alice@example.org' });
      await server.post('/triggers/shell', SHELL_BODY, {
        Authorization: `Bearer ${TRIGGER_TOKEN}`,
        'X-Forwarded-User': 'alice@example.org',
      });

      expect(read.status).toBe(200);
      expect(await who.json()).toEqual({ role: 'viewer', via: 'proxy', user: 'alice@example.org' });
      expect(auditLines(server.logLines).at(-1)).toMatchObject({
        user: 'alice@example.org',
        via: 'bearer',
        caller: '127.0.0.1',
        trigger: 'shell',
      });
    } finally {
      await server.close();
    }
  });

  it('ignores the header from any other address: no read access, no user in the audit line', async () => {
    // A documentation range the test never sends to: 127.0.0.1 is not in it.
    const server = await startAuthTestServer({
      VIEWER_TOKEN,
      AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
      AUTH_PROXY_CIDRS: '192.0.2.0/24',
    });
    try {
      const read = await server.get('/alerts', { 'X-Forwarded-User': 'mallory' });
      await server.post('/triggers/shell', SHELL_BODY, {
        Authorization: `Bearer ${TRIGGER_TOKEN}`,
        'X-Forwarded-User': 'mallory',
      });

      expect(read.status).toBe(401);
      const audit = auditLines(server.logLines).at(-1);
      expect(audit).toMatchObject({ trigger: 'shell', caller: '127.0.0.1' });
      expect(audit).not.toHaveProperty('user');
      expect(server.rawLog()).not.toContain('mallory');
    } finally {
      await server.close();
    }
  });

  it('puts the user in the audit line without read auth too, and refuses a user name that is not a plain name', async () => {
    const server = await startAuthTestServer({
      AUTH_PROXY_USER_HEADER: 'X-Auth-Request-User',
      AUTH_PROXY_CIDRS: '127.0.0.0/8',
    });
    try {
      const auth = { Authorization: `Bearer ${TRIGGER_TOKEN}` };
      await server.post('/triggers/shell', SHELL_BODY, { ...auth, 'X-Auth-Request-User': 'bob' });
      expect(auditLines(server.logLines).at(-1)).toMatchObject({ user: 'bob' });

      await server.post('/triggers/shell', SHELL_BODY, {
        ...auth,
        'X-Auth-Request-User': 'bob", "admin": true',
      });
      expect(auditLines(server.logLines).at(-1)).not.toHaveProperty('user');
    } finally {
      await server.close();
    }
  });
});

describe('the failure limit behind an authenticating proxy', () => {
  const BEHIND_PROXY = {
    VIEWER_TOKEN,
    AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
    AUTH_PROXY_CIDRS: '127.0.0.1/32, ::1',
    AUTH_FAILURE_LIMIT: '3',
  };

  // Regression: every user behind the proxy shares its address, and failures were counted per
  // address: one user's wrong tokens answered 429 to every other user of the proxy for the window.
  it("counts a proxied user's wrong tokens against that user, not every user of the proxy", async () => {
    const server = await startAuthTestServer(BEHIND_PROXY);
    try {
      const as = (user: string, token?: string) => ({
        'X-Forwarded-User': user,
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      });
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const guess = as('mallory', `guess-${attempt}-0123456789abcdef`);
        expect((await server.get('/alerts', guess)).status).toBe(401);
      }

      const mallory = await server.get('/alerts', as('mallory'));
      const alice = await server.get('/alerts', as('alice@example.org'));
      const aliceSession = await server.get('/ui/session', as('alice@example.org'));
      const aliceToken = await server.get('/alerts', as('alice@example.org', VIEWER_TOKEN));

      expect(mallory.status).toBe(429);
      expect(alice.status).toBe(200);
      expect(aliceSession.status).toBe(200);
      expect(aliceToken.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('still counts the wrong tokens of requests the proxy names nobody for against its address', async () => {
    const server = await startAuthTestServer(BEHIND_PROXY);
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const guess = { Authorization: `Bearer guess-${attempt}-0123456789abcdef` };
        expect((await server.get('/alerts', guess)).status).toBe(401);
      }

      const anonymous = await server.get('/alerts', { Authorization: `Bearer ${VIEWER_TOKEN}` });
      const alice = await server.get('/alerts', { 'X-Forwarded-User': 'alice@example.org' });

      expect(anonymous.status).toBe(429);
      expect(alice.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('isTrustedPeer', () => {
  const trusted = new BlockList();
  trusted.addSubnet('10.1.0.0', 16, 'ipv4');
  trusted.addSubnet('fd00::', 8, 'ipv6');

  it.each([
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['10.2.0.1', false],
    ['fd12::1', true],
    ['fe80::1', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(isTrustedPeer(trusted, address)).toBe(expected);
  });
});
