import type { TestRedis } from './redis-server.js';

/**
 * Another writer's `count` entries of the store on `prefix`, each with `fields` (its text, `json`,
 * the last) and its fields entry, in one call.
 */
export function addEntries(redis: Pick<TestRedis, 'cli'>, prefix: string, count: number, fields: string[]) {
  return redis.cli(
    'EVAL',
    `for i = 1, ${count} do local sid = redis.call('XADD', KEYS[1], '*', unpack(ARGV)) ` +
      "redis.call('XADD', KEYS[2], sid, unpack(ARGV, 1, #ARGV - 2)) end",
    '2',
    `${prefix}:alerts`,
    `${prefix}:alert-fields`,
    ...fields,
  );
}

/**
 * The fields of an entry of rule `rule` whose `bytes` is `bytes` and whose text is `json`, received
 * (and of Falco's time) at `atMs`.
 */
export function entryFields(
  id: string,
  rule: string,
  bytes: string,
  json: string,
  atMs = Date.now(),
): string[] {
  const at = String(atMs);
  return [
    ...['id', id, 'at', at, 't', at, 'src', 'syscall', 'rule', rule, 'pri', 'Notice'],
    ...['host', '', 'ns', '', 'tags', '', 'bytes', bytes, 'json', json],
  ];
}

/** Redis's own count of the bytes it has sent its clients (INFO stats). */
export async function bytesSentBy(redis: Pick<TestRedis, 'cli'>): Promise<number> {
  return Number(/^total_net_output_bytes:(\d+)/m.exec(await redis.cli('INFO', 'stats'))?.[1]);
}

/**
 * Another writer's 100 alerts of rule R that ingest accepts, of 100 KB each, whose `bytes` is `bytes`
 * (by default their text's own size), then 560 entries of rule R whose text is not JSON.
 */
export async function addRunPastLargeAlerts(redis: Pick<TestRedis, 'cli'>, prefix: string, bytes?: string) {
  const text = JSON.stringify({
    rule: 'R',
    priority: 'Notice',
    source: 'syscall',
    time: new Date().toISOString(),
    output: 'x'.repeat(100_000),
  });
  await addEntries(
    redis,
    prefix,
    100,
    entryFields('large', 'R', bytes ?? String(Buffer.byteLength(text)), text),
  );
  await addEntries(redis, prefix, 560, entryFields('not-an-alert', 'R', '1000', 'not json'));
}
