import { readFileSync, writeFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { buildTestApp } from '../helpers/test-app.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';

type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

const SAMPLE = readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString();
const TOKEN = 'openapi-test-token';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

/** Compiles a schema of the document so its `#/components/...` references resolve. */
function compileIn(doc: Schema, schema: Schema) {
  return ajv.compile({ ...schema, components: doc.components });
}

/** Checks one real response against the document: status listed, media type listed, body valid. */
function checkResponse(
  doc: Schema,
  path: string,
  method: string,
  res: { status: number; headers: Record<string, string>; text: string },
  seen: Set<string>,
): void {
  const operation = (doc.paths as Record<string, Record<string, Operation>>)[path]?.[method];
  expect(operation, `${method} ${path} is in the document`).toBeDefined();
  const response = operation!.responses[String(res.status)];
  expect(response, `${method} ${path} documents status ${res.status}`).toBeDefined();
  seen.add(operation!.operationId);
  // An answer without a body (ingest's 202) documents no media type.
  if (res.text === '' && res.headers['content-type'] === undefined) return;
  const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
  const media = response!.content?.[type];
  expect(media, `${method} ${path} ${res.status} documents ${type}`).toBeDefined();
  if (type === 'application/json' || type === 'application/problem+json') {
    const validate = compileIn(doc, media!.schema);
    const valid = validate(JSON.parse(res.text));
    expect(validate.errors ?? [], `${method} ${path} ${res.status}`).toEqual([]);
    expect(valid).toBe(true);
  } else {
    expect(media!.schema).toEqual({ type: 'string' });
  }
}

describe('GET /openapi.json', () => {
  let doc: Schema;
  const seen = new Set<string>();
  const { app, store, lifecycle, stream } = buildTestApp({
    env: { STREAM_MAX_CLIENTS: '1', BODY_LIMIT_BYTES: '4096' },
  });
  const triggerApp = buildTestApp({
    env: { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN, TRIGGER_KUBECONFIG: '/nonexistent' },
    parentEnv: { PATH: '/nonexistent-bin' },
  });
  const secretApp = buildTestApp({ env: { INGEST_PATH_SECRET: 'a-long-enough-secret-path-segment-1234' } });
  const VIEWER = 'openapi-viewer-token-0123';
  const viewerApp = buildTestApp({ env: { VIEWER_TOKEN: VIEWER } });

  async function call(
    target: RequestListener,
    method: 'get' | 'post' | 'delete',
    path: string,
    docPath: string,
    prepare: (test: request.Test) => request.Test = (test) => test,
  ) {
    const res = await prepare(request(target)[method](path));
    checkResponse(doc, docPath, method, res, seen);
    return res;
  }

  beforeAll(async () => {
    const res = await request(app).get('/openapi.json');
    expect(res.status).toBe(200);
    doc = JSON.parse(res.text) as Schema;
  });

  afterAll(async () => {
    stream.closeAll();
    viewerApp.stream.closeAll();
    triggerApp.stream.closeAll();
    await triggerApp.triggers?.stop(1000);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);

    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    // The copy the README links must be this document: UPDATE_DOCS=1 rewrites it, else a stale one fails.
    const copy = new URL('../../docs/openapi.json', import.meta.url);
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    if (process.env.UPDATE_DOCS === '1') writeFileSync(copy, text);
    expect(readFileSync(copy, 'utf8'), 'docs/openapi.json is stale: run `UPDATE_DOCS=1 npm test`').toBe(text);
    // One bearer scheme per token setting, each named in its description.
    const schemes = (doc.components as Schema).securitySchemes as Record<string, Schema>;
    for (const [name, token] of [
      ['bearer', 'TRIGGER_TOKEN'],
      ['viewer', 'VIEWER_TOKEN'],
      ['metricsToken', 'METRICS_TOKEN'],
    ] as const)
      expect(schemes[name]).toMatchObject({
        type: 'http',
        scheme: 'bearer',
        description: expect.stringContaining(token),
      });
    expect(Object.keys(schemes)).toHaveLength(3);
  });

  it('accepts real Falco samples in its ingest request schema', () => {
    const schema = (doc.paths as Record<string, Record<string, Operation>>)['/alerts']!.post!.requestBody!
      .content['application/json']!.schema;
    const validate = compileIn(doc, schema);
    for (const name of [
      '001-demo-034-terminal-shell-in-container.json',
      '086-latest-k8saudit-attach-exec-pod.json',
      '102-034-internal-syscall-event-drop.json',
    ]) {
      expect(validate(JSON.parse(readFixture(`samples/valid/${name}`).toString())), name).toBe(true);
    }
    expect(validate({ rule: 'r', priority: 'Loud', time: 't' })).toBe(false);
    // References resolve, and a response missing its fields does not pass.
    expect(compileIn(doc, { $ref: '#/components/schemas/StoredAlert' })({ id: 'x' })).toBe(false);
  });

  it('describes every response of the ingest, query, export, health, metrics and dashboard routes', async () => {
    const json = (test: request.Test) => test.set('Content-Type', 'application/json');
    const posted = await call(app, 'post', '/alerts', '/alerts', (t) => json(t).send(SAMPLE));
    expect(posted.text).toBe('');
    const represented = await call(app, 'post', '/alerts', '/alerts', (t) =>
      json(t).set('Prefer', 'return=representation').send(SAMPLE),
    );
    expect(represented.body.id).toBe(represented.headers['x-alert-id']);
    await call(app, 'post', '/', '/', (t) => json(t).send(SAMPLE));
    await call(app, 'post', '/alerts', '/alerts', (t) => json(t).send('{"rule":""}'));
    await call(app, 'post', '/alerts', '/alerts', (t) => t.set('Content-Type', 'text/plain').send('x'));
    await call(app, 'post', '/alerts', '/alerts', (t) => json(t).send(`{"rule":"${'x'.repeat(5000)}"}`));
    await call(secretApp.app, 'post', '/alerts/a-long-enough-secret-path-segment-1234', '/alerts/{id}', (t) =>
      json(t).send(SAMPLE),
    );
    await call(secretApp.app, 'post', '/alerts', '/alerts', (t) => json(t).send(SAMPLE));

    await call(app, 'get', '/alerts', '/alerts');
    await call(app, 'get', '/alerts?limit=0', '/alerts');
    await call(app, 'get', '/alerts?format=csv', '/alerts');
    const ndjson = await call(app, 'get', '/alerts?format=ndjson', '/alerts');
    const item = (doc.paths as Record<string, Record<string, Operation>>)['/alerts/{id}']!.get!.responses[
      '200'
    ]!.content!['application/json']!.schema;
    const validateItem = compileIn(doc, item);
    for (const line of ndjson.text.trim().split('\n')) expect(validateItem(JSON.parse(line))).toBe(true);
    await call(app, 'get', `/alerts/${posted.headers['x-alert-id']}`, '/alerts/{id}');
    await call(app, 'get', '/alerts/no-such-id', '/alerts/{id}');
    await call(app, 'get', '/alerts/stream?priority=Loud', '/alerts/stream');

    await call(app, 'get', '/healthz', '/healthz');
    await call(app, 'get', '/readyz', '/readyz');
    await call(app, 'get', '/metrics', '/metrics');
    await call(app, 'get', '/openapi.json', '/openapi.json');
    await call(app, 'get', '/ui/config.json', '/ui/config.json');
    await call(app, 'get', '/ui/summary?window=24h', '/ui/summary');
    await call(app, 'get', '/ui/summary?window=2d', '/ui/summary');
    expect(await store.count()).toBe(3);

    lifecycle.beginShutdown();
    await call(app, 'get', '/readyz', '/readyz');
  });

  it('describes the sign-in routes, with and without VIEWER_TOKEN', async () => {
    const open = await call(app, 'get', '/ui/session', '/ui/session');
    expect(open.body).toEqual({ readAuth: false });
    const signIn = (body: string) => (t: request.Test) =>
      t.set('Content-Type', 'application/json').send(body);
    const signedIn = await call(
      viewerApp.app,
      'post',
      '/ui/session',
      '/ui/session',
      signIn(`{"token":"${VIEWER}"}`),
    );
    expect(signedIn.body).toMatchObject({ role: 'viewer', via: 'session' });
    expect(signedIn.headers['set-cookie']?.[0]).toMatch(/^falco_session=/);
    await call(
      viewerApp.app,
      'post',
      '/ui/session',
      '/ui/session',
      signIn('{"token":"wrong-token-of-some-length"}'),
    );
    await call(viewerApp.app, 'post', '/ui/session', '/ui/session', signIn('{}'));
    const bearer = await call(viewerApp.app, 'get', '/ui/session', '/ui/session', (t) =>
      t.set('Authorization', `Bearer ${VIEWER}`),
    );
    expect(bearer.body).toEqual({ role: 'viewer', via: 'bearer' });
    await call(viewerApp.app, 'get', '/ui/session', '/ui/session');
    await call(viewerApp.app, 'delete', '/ui/session', '/ui/session');
    await call(viewerApp.app, 'post', '/ui/logout', '/ui/logout');
  });

  it('describes the live stream: its events carry stored alerts, and a client past the cap gets 429', async () => {
    const server = await startServer(app, { host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${boundPort(server)}`;
    const controller = new AbortController();
    try {
      const res = await fetch(`${base}/alerts/stream`, {
        headers: { 'Last-Event-ID': 'none' },
        signal: controller.signal,
      });
      const headers = Object.fromEntries(res.headers);
      checkResponse(doc, '/alerts/stream', 'get', { status: res.status, headers, text: '' }, seen);
      const second = await fetch(`${base}/alerts/stream`);
      checkResponse(
        doc,
        '/alerts/stream',
        'get',
        { status: second.status, headers: Object.fromEntries(second.headers), text: await second.text() },
        seen,
      );
      expect(second.status).toBe(429);

      await request(app).post('/alerts').set('Content-Type', 'application/json').send(SAMPLE);
      const reader = res.body!.getReader();
      let text = '';
      // After `event: truncated` (the Last-Event-ID is not stored), the alert's event.
      while (!/\nevent: alert\ndata: .*\n\n/.test(text))
        text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toContain('event: truncated\ndata: {"reason":"Last-Event-ID is no longer stored"}');
      const data = /\nevent: alert\ndata: (.*)\n/.exec(text)![1]!;
      const item = (doc.paths as Record<string, Record<string, Operation>>)['/alerts/{id}']!.get!.responses[
        '200'
      ]!.content!['application/json']!.schema;
      expect(compileIn(doc, item)(JSON.parse(data))).toBe(true);
    } finally {
      controller.abort();
      stream.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('describes the triggers API with its bearer scheme, a started run and its refusals', async () => {
    const auth = (test: request.Test) => test.set('Authorization', `Bearer ${TOKEN}`);
    const target = triggerApp.app;
    const started = await call(
      target,
      'post',
      '/triggers/event-generator',
      '/triggers/event-generator',
      (t) => auth(t).send({ actions: '^syscall.ReadSensitiveFileUntrusted$' }),
    );
    expect(started.status).toBe(202);
    await call(target, 'post', '/triggers/event-generator', '/triggers/event-generator', (t) => t.send({}));
    await call(target, 'post', '/triggers/shell', '/triggers/shell', (t) =>
      auth(t).send({ pod: 'Not A Name' }),
    );
    await call(target, 'post', '/triggers/shell', '/triggers/shell', (t) => auth(t).send({}));
    await call(target, 'get', `/triggers/${started.body.id}`, '/triggers/{id}', auth);
    await call(target, 'get', '/triggers/no-such-run', '/triggers/{id}', auth);
    await call(target, 'get', '/triggers', '/triggers', auth);
    await call(target, 'get', '/triggers', '/triggers');
    // No helm here: the run fails at once, so its cancel is a conflict.
    await waitForRun(target, TOKEN, started.body.id, finished);
    const cancelPath = `/triggers/${started.body.id}/cancel`;
    expect((await call(target, 'post', cancelPath, '/triggers/{id}/cancel', auth)).status).toBe(409);
    await call(target, 'post', '/triggers/no-such-run/cancel', '/triggers/{id}/cancel', auth);
    await call(target, 'post', cancelPath, '/triggers/{id}/cancel');
  });

  it('describes the 401 and 429 of the reads and /metrics when VIEWER_TOKEN and METRICS_TOKEN are set', async () => {
    const guarded = buildTestApp({
      env: {
        VIEWER_TOKEN: 'openapi-viewer-token-0123',
        METRICS_TOKEN: 'openapi-metrics-token-0123',
        AUTH_FAILURE_LIMIT: '1',
      },
    });
    const reads: Array<[string, string]> = [
      ['/alerts', '/alerts'],
      ['/alerts/some-id', '/alerts/{id}'],
      ['/alerts/stream', '/alerts/stream'],
      ['/ui/config.json', '/ui/config.json'],
      ['/ui/summary', '/ui/summary'],
      ['/metrics', '/metrics'],
    ];
    for (const [path, docPath] of reads)
      expect((await call(guarded.app, 'get', path, docPath)).status).toBe(401);
    // One wrong token reaches AUTH_FAILURE_LIMIT for this address: every guarded route then says 429.
    const wrong = (test: request.Test) => test.set('Authorization', 'Bearer wrong-token-0123456789');
    expect((await call(guarded.app, 'get', '/alerts', '/alerts', wrong)).status).toBe(401);
    for (const [path, docPath] of reads)
      expect((await call(guarded.app, 'get', path, docPath, wrong)).status).toBe(429);
    guarded.stream.closeAll();
  });

  it('has been checked against a real response of every operation it lists', () => {
    const listed = Object.values(doc.paths as Record<string, Record<string, Operation>>).flatMap((methods) =>
      Object.values(methods).map((operation) => operation.operationId),
    );
    expect([...seen].sort()).toEqual([...listed].sort());
  });
});
