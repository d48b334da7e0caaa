import { describe, expect, it } from 'vitest';
import { foreignOrigin, hostAllowed, hostName } from '../../src/http/host-origin-guard.js';

const ALLOWED = ['localhost', 'falco-alert-receiver.falco.svc'];

describe('hostAllowed', () => {
  it.each([
    ['localhost:8080', true],
    ['LOCALHOST', true],
    ['falco-alert-receiver.falco.svc.:8080', true],
    ['127.0.0.1:8080', true],
    ['10.244.3.9', true],
    ['[::1]:8080', true],
    ['[fd00::1]', true],
    ['attacker.example:8080', false],
    ['localhost.attacker.example', false],
    [undefined, true],
  ])('%s -> %s', (host, allowed) => {
    expect(hostAllowed(host, ALLOWED)).toBe(allowed);
  });

  it('allows any name with *', () => {
    expect(hostAllowed('anything.example', ['*'])).toBe(true);
  });

  it('takes the name out of bracketed IPv6 and host:port', () => {
    expect([hostName('[::1]:80'), hostName('Example.ORG:8080'), hostName('a.b.')]).toEqual([
      '::1',
      'example.org',
      'a.b',
    ]);
  });
});

describe('foreignOrigin', () => {
  it.each([
    ['http://localhost:8080', 'localhost:8080', false],
    ['http://127.0.0.1:8080', '127.0.0.1:8080', false],
    ['https://attacker.example', 'localhost:8080', true],
    ['http://attacker.example:8080', 'attacker.example:8080', true],
    ['http://localhost:9999', 'localhost:8080', true],
    ['null', 'localhost:8080', true],
    ['file:///etc/passwd', 'localhost:8080', true],
    ['http://localhost:8080', undefined, true],
  ])('Origin %s to Host %s -> %s', (origin, host, foreign) => {
    expect(foreignOrigin(origin, host, ALLOWED)).toBe(foreign);
  });
});
