import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postAlerts, ruleAlert } from '../helpers/post-alerts.js';
import { readmeAcl, readmeAclBlock } from '../helpers/readme-acl.js';
import { sentinelAvailable, startSentinel, type TestSentinel } from '../helpers/redis-sentinel.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';
import { until } from '../helpers/until.js';

const haveSentinel = redisAvailable() && sentinelAvailable();
// The data nodes' and Sentinel's own `default` passwords (what Sentinel and an operator sign in with).
const NODE_ADMIN = 'node-admin-password-0123456789';
const SENTINEL_ADMIN = 'sentinel-admin-password-0123456789';
// The receiver's users: on the data nodes as README's ACL makes it, and on the Sentinel.
const NODE_PASSWORD = 'node-receiver-password-0123456789';
const SENTINEL_PASSWORD = 'sentinel-receiver-password-0123456789';
const USER = 'falco-alert-receiver';

function secretFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sentinel-auth-')), 'password');
  writeFileSync(file, `${text}\n`);
  return file;
}

// Regression: through Sentinel the receiver signed in to the data nodes with STORE_PASSWORD_FILE's
// password alone (the `default` user) and to the Sentinels with nothing at all, so a Sentinel that
// asks for a password (the Bitnami chart's default, auth.sentinel: true) or a data node that gives
// the receiver an ACL user of its own could not be used: every link failed, every alert queued.
describe.runIf(haveSentinel)(
  'the Redis store through a Sentinel and data nodes that ask who signs in',
  () => {
    let master: TestRedis | undefined;
    let sentinel: TestSentinel | undefined;
    afterEach(async () => {
      killSpawned();
      sentinel?.stop();
      await master?.stop();
    });

    // A master whose `default` user has a password and the receiver's user README's ACL makes; a
    // Sentinel that asks for a password, with the receiver's user README's Sentinel ACL makes.
    async function startSecuredSet() {
      master = await startRedis();
      await master.cli(...readmeAcl(NODE_PASSWORD));
      await master.cli('CONFIG', 'SET', 'requirepass', NODE_ADMIN);
      sentinel = await startSentinel('falco', master.port, {
        requirepass: SENTINEL_ADMIN,
        authPass: NODE_ADMIN,
      });
      await sentinel.cli(...readmeAcl(SENTINEL_PASSWORD, 'sentinels'));
      const onMaster = (...args: string[]) => master!.cli('-a', NODE_ADMIN, '--no-auth-warning', ...args);
      const start = (env: Record<string, string>) =>
        spawnService({
          STORE_SENTINELS: `127.0.0.1:${sentinel!.port}`,
          STORE_SENTINEL_MASTER: 'falco',
          STORE_KEY_PREFIX: USER,
          ...env,
        });
      return { sentinel, onMaster, start };
    }

    it("takes and lists alerts as the named users, and signs in to Sentinel with its file's new password after a rotation", async () => {
      const { sentinel, onMaster, start } = await startSecuredSet();
      const sentinelFile = secretFile(SENTINEL_PASSWORD);
      const service = await start({
        STORE_USERNAME: USER,
        STORE_PASSWORD_FILE: secretFile(NODE_PASSWORD),
        STORE_SENTINEL_USERNAME: USER,
        STORE_SENTINEL_PASSWORD_FILE: sentinelFile,
      });
      const base = `http://127.0.0.1:${service.port}`;
      const storeUp = async () => /^falco_store_up 1$/m.test(await (await fetch(`${base}/metrics`)).text());
      await until(storeUp, 10_000, 'the links up');

      const ids = await postAlerts(service.port, ruleAlert('Sentinel auth probe'), 3);
      await until(async () => (await onMaster('HLEN', `${USER}:alert-ids`)) === '3', 10_000, 'the writes');
      const listed = async () => {
        const res = await fetch(`${base}/alerts?rule=Sentinel%20auth%20probe`);
        return ((await res.json()) as { alerts: Array<{ id: string }> }).alerts.map((alert) => alert.id);
      };
      expect((await listed()).sort()).toEqual([...ids].sort());

      // The Sentinel user's password rotated (the Secret's file first, then Sentinel), and the
      // receiver's links to the master cut: it asks Sentinel again, with the file's new password.
      writeFileSync(sentinelFile, 'sentinel-rotated-password-0123456789\n');
      await sentinel.cli('ACL', 'SETUSER', USER, 'resetpass', '>sentinel-rotated-password-0123456789');
      await onMaster('CLIENT', 'KILL', 'USER', USER);
      const relinked = (link: string) =>
        service.lines.filter((line) => line.event === 'store_up' && line.link === link).length >= 2;
      await until(
        async () => [USER, `${USER}-reader`, `${USER}-writer`].every(relinked),
        10_000,
        'the relink',
      );
      const [after] = await postAlerts(service.port, ruleAlert('Sentinel auth probe'), 1);
      await until(async () => (await listed()).includes(after!), 10_000, 'the alert after the relink');

      expect(await onMaster('ACL', 'LOG')).toBe('');
      expect(await sentinel.cli('ACL', 'LOG')).toBe('');
    }, 60_000);

    // Regression: README made the Sentinel user with ACL SETUSER alone, which Sentinel keeps in
    // memory until it next saves its config file (a failover, SENTINEL SET, FLUSHCONFIG): restarted
    // before that, as a pod is, it no longer knew the user, and every link failed WRONGPASS.
    it("keeps README's Sentinel user, made as README says, through a Sentinel restart", async () => {
      master = await startRedis();
      sentinel = await startSentinel('falco', master.port, { requirepass: SENTINEL_ADMIN });
      for (const command of readmeAclBlock(SENTINEL_PASSWORD, 'sentinels')) await sentinel.cli(...command);
      await sentinel.restart();

      const service = await spawnService({
        STORE_SENTINELS: `127.0.0.1:${sentinel.port}`,
        STORE_SENTINEL_MASTER: 'falco',
        STORE_SENTINEL_USERNAME: USER,
        STORE_SENTINEL_PASSWORD_FILE: secretFile(SENTINEL_PASSWORD),
      });
      const storeUp = async () =>
        /^falco_store_up 1$/m.test(await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text());
      await until(storeUp, 10_000, 'the links up');
      expect(await sentinel.cli('ACL', 'LOG')).toBe('');
    }, 60_000);

    // Regression: a connect refused by a Sentinel (NOAUTH, WRONGPASS) or by the master it named was
    // retried by node-redis inside the connect and told only as 'error' events, so the only line was
    // store_connect_failed 'redis handshake: no answer within 3000 ms', as for a Redis that hangs.
    it('says in store_connect_failed why the Sentinel or the master refused the sign-in', async () => {
      const { start } = await startSecuredSet();
      const refusal = async (service: SpawnedService) => {
        await until(
          async () => service.lines.some((line) => line.event === 'store_connect_failed'),
          10_000,
          'store_connect_failed',
        );
        const line = service.lines.find((item) => item.event === 'store_connect_failed')!;
        return (line.err as { message: string }).message;
      };
      const [noSentinelPassword, wrongNodePassword] = await Promise.all([
        start({ STORE_USERNAME: USER, STORE_PASSWORD_FILE: secretFile(NODE_PASSWORD) }),
        start({
          STORE_USERNAME: USER,
          STORE_PASSWORD_FILE: secretFile('not-the-password'),
          STORE_SENTINEL_USERNAME: USER,
          STORE_SENTINEL_PASSWORD_FILE: secretFile(SENTINEL_PASSWORD),
        }),
      ]);

      expect(await refusal(noSentinelPassword)).toMatch(/; the last error meanwhile: NOAUTH /);
      expect(await refusal(wrongNodePassword)).toMatch(
        new RegExp(
          `; the last error meanwhile: Master Client \\(127\\.0\\.0\\.1:${master!.port}\\): WRONGPASS `,
        ),
      );
    }, 60_000);
  },
);
