import { expect } from 'vitest';

/** A small alert of `rule` (Notice, now), as Falco's JSON. */
export const ruleAlert = (rule: string): string =>
  JSON.stringify({
    rule,
    priority: 'Notice',
    time: new Date().toISOString(),
    output: 'x',
    source: 'syscall',
  });

/**
 * POSTs `body` as a JSON alert to the service on `port`, `count` times one after another; each must
 * be answered 202. Resolves with the alert ids, in order.
 */
export async function postAlerts(port: number, body: string | Buffer, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    ids.push(res.headers.get('x-alert-id')!);
  }
  return ids;
}
