import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../helpers/until.js';
import { TRIGGER_TOKEN, type AuthTestServer } from './auth-test-server.js';
import { startWithTriggerFile } from './token-files-server.js';

const FIRST = 'first-viewer-token-0123456789';
const NEXT = 'next-viewer-token-9876543210';
const NEXT_TRIGGER = 'next-trigger-token-abcdef01234';

describe('a token file refused for holding the trigger token, once the other file changes', () => {
  let server: AuthTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async () => {
    const started = await startWithTriggerFile(FIRST);
    server = started.server;
    const refusals = () => server!.logLines.filter((line) => line.event === 'token_reload_failed').length;
    return { ...started, refusals };
  };

  it('reads the viewer file again when the trigger token it held is rotated away', async () => {
    const { viewer, trigger, role, refusals } = await start();
    // The trigger token pasted into the viewer Secret beside the next viewer token: refused.
    viewer.update(`${NEXT}\n${TRIGGER_TOKEN}\n`);
    await until(async () => refusals() === 1, 5_000, 'the refusal');
    // So the trigger token, seen by every reader now, is rotated: the viewer file is valid then.
    trigger.update(`${NEXT_TRIGGER}\n`);
    await until(async () => (await role(NEXT_TRIGGER)) === 'trigger', 5_000, 'the new trigger token');
    await until(async () => (await role(NEXT)) === 'viewer', 5_000, 'the viewer file read again');
    expect(await role(FIRST)).toBe(401);
    expect(await role(TRIGGER_TOKEN)).toBe('viewer');
  }, 15_000);

  it('reads the trigger file again once the viewer token it clashed with is taken out', async () => {
    const { viewer, trigger, role, refusals } = await start();
    viewer.update(`${FIRST}\n${NEXT}\n`);
    await until(async () => (await role(NEXT)) === 'viewer', 5_000, 'the added viewer token');
    // The next trigger token is a viewer token: refused, the old one stays.
    trigger.update(`${NEXT}\n`);
    await until(async () => refusals() === 1, 5_000, 'the refusal');
    expect(await role(TRIGGER_TOKEN)).toBe('trigger');
    viewer.update(`${FIRST}\n`);
    await until(async () => (await role(NEXT)) === 'trigger', 5_000, 'the trigger file read again');
    expect(await role(TRIGGER_TOKEN)).toBe(401);
    expect(refusals()).toBe(1);
  }, 15_000);
});
