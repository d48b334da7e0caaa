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
