import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { REFUSAL_LOG_EVERY_MS } from '../../src/http/auth/refusal-lines.js';
import { startServer } from '../../src/server/start-server.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';

const TOKEN = 'test-token-0123456789abcdef';
const ENABLED = {
  TRIGGERS_ENABLED: 'true',
  TRIGGER_TOKEN: TOKEN,
  TRIGGER_ALLOWED_NAMESPACES: 'falco-canary,default',
  TRIGGER_ALLOWED_IMAGES: 'busybox:1.36',
  TRIGGER_ALLOWED_PODS: 'web-1',
  TRIGGER_ALLOWED_CONTAINERS: 'app',
  // No tool is reachable: nothing these tests start may touch a real cluster.
  TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
};
const SAMPLE = readFileSync(
  'test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
  'utf8',
);

let built: TriggerApp | undefined;
afterEach(async () => {
  await built?.stop();
  built = undefined;
});

const auth = { Authorization: `Bearer ${TOKEN}` };
const countOf = (lines: Record<string, unknown>[]) =>
  lines.reduce((sum, line) => sum + Number(line.count), 0);

describe('trigger API when disabled', () => {
  it('answers 404 on every trigger route, even with the right token', async () => {
    built = buildTriggerApp({ TRIGGER_TOKEN: TOKEN });
    for (const [method, path] of [
      ['post', '/triggers/shell'],
      ['post', '/triggers/event-generator'],
      ['get', '/triggers'],
      ['get', '/triggers/some-id'],
    ] as const) {
      const res = await request(built.app)[method](path).set(auth).send({});
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.type).toBe('application/problem+json');
    }
  });
});

describe('trigger API authentication', () => {
  it('answers 401 problem+json without a token, with a wrong token and with a non-bearer scheme', async () => {
    built = buildTriggerApp(ENABLED);
    for (const header of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, 'Bearer ']) {
      const req = request(built.app).post('/triggers/shell').send({});
      const res = await (header === undefined ? req : req.set('Authorization', header));
      expect(res.status, String(header)).toBe(401);
      expect(res.type).toBe('application/problem+json');
      expect(res.body.type).toBe('urn:falco-alert-receiver:problem:unauthorized');
    }
    expect((await request(built.app).get('/triggers')).status).toBe(401);
  });

  it('writes one audit line per call with caller and outcome, and never the token', async () => {
    built = buildTriggerApp(ENABLED);
    await request(built.app).get('/triggers').set('Authorization', 'Bearer wrong-token-0123456789abcdef');
    await request(built.app).get('/triggers').set(auth);
    const audits = built.logs.filter((line) => line.event === 'trigger_audit');
    expect(audits).toHaveLength(2);
    expect(audits[0]).toMatchObject({ trigger: 'list', outcome: 'unauthorized', status: 401 });
    expect(audits[1]).toMatchObject({ trigger: 'list', outcome: 'ok', status: 200 });
    expect(String(audits[1]?.caller)).toMatch(/127\.0\.0\.1|::1/);
    const everything = JSON.stringify(built.logs);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('wrong-token-0123456789abcdef');
  });
});

describe('wrong trigger tokens with reading open (no VIEWER_TOKEN)', () => {
  it('are counted, logged and limited per address as every credential is (AUTH_FAILURE_LIMIT)', async () => {
    built = buildTriggerApp({ ...ENABLED, AUTH_FAILURE_LIMIT: '3' });
    const wrong = { Authorization: 'Bearer wrong-token-0123456789abcdef' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(built.app).get('/triggers').set(wrong)).status);
    // Past the limit even the right token waits: guessing gets nothing more from this address.
    const right = await request(built.app).get('/triggers').set(auth);

    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(right.status).toBe(429);
    expect(right.headers['retry-after']).toMatch(/^\d+$/);
    const metrics = (await request(built.app).get('/metrics')).text;
    expect(metrics).toMatch(/falco_auth_failures_total\{route_group="triggers"\} 3\n/);
    // The first at once, the repeats of its kind summed (refusal-lines.ts).
    const refused = () =>
      built!.logs.filter((line) => line.event === 'auth_refused' && line.routeGroup === 'triggers');
    expect(refused()).toHaveLength(1);
    built.flushLines();
    expect(countOf(refused())).toBe(3);
    // Each refused call is audited, the limited ones too: a kind's first line at once, its
    // repeats summed (trigger-audit.ts), all written by now.
    const audited = (outcome: string) =>
      countOf(built!.logs.filter((line) => line.event === 'trigger_audit' && line.outcome === outcome));
    expect(audited('unauthorized')).toBe(3);
    expect(audited('rate-limited')).toBe(3);
  });
});

describe('trigger calls the read guard refuses (VIEWER_TOKEN set)', () => {
  const VIEWER = 'viewer-token-0123456789abcdef';

  // Regression (found by review): these had an auth_refused line and no audit line, unlike the same
  // refusals without VIEWER_TOKEN.
  it('are each audited, as the trigger API audits its own refusals, and are counted once', async () => {
    built = buildTriggerApp({ ...ENABLED, VIEWER_TOKEN: VIEWER, AUTH_FAILURE_LIMIT: '2' });
    const signedIn = await request(built.app).post('/ui/session').send({ token: TOKEN });
    const session = { Cookie: String(signedIn.headers['set-cookie']).split(';')[0] ?? '' };
    const viewer = { Authorization: `Bearer ${VIEWER}` };
    const wrong = { Authorization: 'Bearer wrong-token-0123456789abcdef' };
    const calls = [
      ['/triggers/shell', {}, 401, 'shell', 'unauthorized'],
      ['/triggers/event-generator', viewer, 403, 'event-generator', 'forbidden'],
      ['/triggers/some-id/cancel', viewer, 403, 'cancel', 'forbidden'],
      ['/triggers/injected-key', viewer, 403, 'other', 'forbidden'],
      ['/triggers/shell', session, 403, 'shell', 'forbidden'],
      ['/triggers/shell', wrong, 401, 'shell', 'unauthorized'],
      ['/triggers/shell', wrong, 401, 'shell', 'unauthorized'],
      // Past AUTH_FAILURE_LIMIT even the right token waits.
      ['/triggers/shell', auth, 429, 'shell', 'rate-limited'],
    ] as const;

    for (const [path, headers, status, trigger, outcome] of calls) {
      const res = await request(built.app).post(path).set(headers).send({});
      expect(res.status, `${trigger} ${status}`).toBe(status);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status });
      // Its kind's line is written at once the first time, the repeats summed later.
      expect(
        built.logs.filter((entry) => entry.event === 'trigger_audit'),
        `${trigger} ${status}`,
      ).toContainEqual(expect.objectContaining({ trigger, outcome, status }));
    }

    const audits = () => built!.logs.filter((line) => line.event === 'trigger_audit');
    // One kind (shell, 401, this address) was refused three times.
    expect(audits()).toHaveLength(calls.length - 2);
    expect(String(audits()[0]?.caller)).toMatch(/127\.0\.0\.1|::1/);
    built.flushLines();
    expect(countOf(audits())).toBe(calls.length);
    // Each kind's first at once, its repeats summed (refusal-lines.ts).
    expect(countOf(built.logs.filter((line) => line.event === 'auth_refused'))).toBe(7);
    expect(await built.metricValue('falco_auth_failures_total', { route_group: 'triggers' })).toBe(7);
    expect(await built.metricValue('falco_auth_rate_limited_total', { route_group: 'triggers' })).toBe(1);
    // The path a caller sends is never a key of a log line, nor are the tokens anywhere in the log.
    expect(built.logs.flatMap((line) => Object.keys(line)).join()).not.toContain('injected');
    for (const secret of [TOKEN, VIEWER, 'wrong-token'])
      expect(JSON.stringify(built.logs)).not.toContain(secret);
  });
});

describe('audit lines of refused trigger calls', () => {
  // Regression: an audit line per refused call, so a client without a token (not counted towards
  // AUTH_FAILURE_LIMIT, so never slowed) had a trigger_audit line written for every call it sent,
  // beside the auth_refused line that was already counted per kind.
  it('logs a kind of refused call at once and sums its repeats, and still a line for every accepted call', async () => {
    built = buildTriggerApp({ ...ENABLED, AUTH_FAILURE_LIMIT: '100000' });
    const started = performance.now();
    for (let i = 0; i < 200; i++) expect((await request(built.app).get('/triggers')).status).toBe(401);
    for (let i = 0; i < 3; i++)
      expect((await request(built.app).get('/triggers').set(auth)).status).toBe(200);

    const audits = (outcome: string) =>
      built!.logs.filter((line) => line.event === 'trigger_audit' && line.outcome === outcome);
    // The first at once, then at most one a period.
    expect(audits('unauthorized').length).toBeLessThanOrEqual(
      1 + Math.ceil((performance.now() - started) / REFUSAL_LOG_EVERY_MS),
    );
    expect(audits('unauthorized')[0]).toMatchObject({
      level: 'info',
      msg: 'trigger API call',
      caller: expect.stringMatching(/127\.0\.0\.1|::1/),
      trigger: 'list',
      status: 401,
      count: 1,
    });
    // Accepted calls are audited as before: one line each, no count.
    expect(audits('ok')).toHaveLength(3);
    for (const line of audits('ok')) {
      expect(line).toMatchObject({ trigger: 'list', status: 200 });
      expect(line).not.toHaveProperty('count');
    }
    expect(await built.metricValue('falco_auth_failures_total', { route_group: 'triggers' })).toBe(200);

    // What a listener's close writes (main.ts): the counts add up to the refused calls.
    built.flushLines();
    expect(countOf(audits('unauthorized'))).toBe(200);
  });
});

describe('trigger API input validation', () => {
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    [
      'a namespace with shell metacharacters',
      '/triggers/shell',
      { namespace: 'default;rm -rf /' },
      '/namespace',
    ],
    ['an image with shell metacharacters', '/triggers/shell', { image: 'busybox$(id)' }, '/image'],
    ['an image outside the allow-list', '/triggers/shell', { image: 'alpine:3.20' }, '/image'],
    [
      'a valid namespace outside the allow-list',
      '/triggers/shell',
      { namespace: 'kube-system' },
      '/namespace',
    ],
    ['a pod outside the allow-list', '/triggers/shell', { pod: 'db-0' }, '/pod'],
    ['a container name with a quote', '/triggers/shell', { pod: 'web-1', container: "app'" }, '/container'],
    ['an unknown backend', '/triggers/shell', { backend: 'ssh' }, '/backend'],
    ['both an image and a pod', '/triggers/shell', { image: 'busybox:1.36', pod: 'web-1' }, '/image'],
    ['a container without a pod on the kubernetes backend', '/triggers/shell', { container: 'app' }, '/pod'],
    // Regression (review): the exec went into the pod's default container, which no allow-list
    // named (with TRIGGER_ALLOWED_CONTAINERS empty, "none", it still ran a shell in one).
    [
      'a pod without a container on the kubernetes backend',
      '/triggers/shell',
      { pod: 'web-1' },
      '/container',
    ],
    ['a pod on the docker backend', '/triggers/shell', { backend: 'docker', pod: 'web-1' }, '/pod'],
    // Regression (review): it was accepted and silently ignored.
    [
      'a namespace on the docker backend',
      '/triggers/shell',
      { backend: 'docker', namespace: 'default' },
      '/namespace',
    ],
    [
      'the negative control on the kubernetes backend',
      '/triggers/shell',
      { backend: 'kubernetes', terminal: false },
      '/terminal',
    ],
    ['a terminal that is not a boolean', '/triggers/shell', { terminal: 'no' }, '/terminal'],
    ['an actions regex with a quote', '/triggers/event-generator', { actions: "^syscall'" }, '/actions'],
    ['an actions regex with a space', '/triggers/event-generator', { actions: '^syscall .*' }, '/actions'],
    [
      'an actions regex with a comma (helm --set separator)',
      '/triggers/event-generator',
      { actions: 'a,b' },
      '/actions',
    ],
    [
      'an actions regex that does not compile',
      '/triggers/event-generator',
      { actions: '^syscall(' },
      '/actions',
    ],
    // RE2 (event-generator's Go regexp) refuses it; see actions-regex-linear.test.ts for speed.
    [
      'an actions regex RE2 refuses (nested repetition)',
      '/triggers/event-generator',
      { actions: '^(.|.)**0$' },
      '/actions',
    ],
    // Regression: event-generator ran nothing and the run succeeded, having verified nothing.
    ['an actions regex that selects no action', '/triggers/event-generator', { actions: '^zzz' }, '/actions'],
    [
      'an actions regex that selects only actions of rules Falco leaves disabled',
      '/triggers/event-generator',
      { actions: '^syscall.ContainerDrift' },
      '/actions',
    ],
    [
      'an event-generator namespace with metacharacters',
      '/triggers/event-generator',
      { namespace: '$(id)' },
      '/namespace',
    ],
    // Regression: an unknown field was reported at the body's root (pointer "").
    ['an unknown field', '/triggers/shell', { command: 'id' }, '/command'],
    ['an unknown event-generator field', '/triggers/event-generator', { loop: true }, '/loop'],
    ['an unknown field with a slash (RFC 6901 escape)', '/triggers/shell', { 'a/b': 1 }, '/a~1b'],
  ];
  for (const [what, path, body, pointer] of cases) {
    it(`answers 400 naming ${pointer} for ${what}`, async () => {
      built = buildTriggerApp(ENABLED);
      const res = await request(built.app).post(path).set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.type).toBe('application/problem+json');
      expect(res.body.type).toBe('urn:falco-alert-receiver:problem:invalid-request');
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      expect((await request(built.app).get('/triggers').set(auth)).body.runs).toEqual([]);
    });
  }

  // Regression: on event-generator v0.10 (chart 0.2.0, Falco 0.34.1) this run was accepted and could
  // only end with "User mgmt binaries" missed: event-generator skips that action in a container.
  it('refuses an actions regex that selects only an action event-generator skips in the Job pod', async () => {
    built = buildTriggerApp({ ...ENABLED, TRIGGER_EVENT_GENERATOR_VERSION: 'v0.10' });

    const res = await request(built.app)
      .post('/triggers/event-generator')
      .set(auth)
      .send({ actions: '^syscall.UserMgmtBinaries$' });

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        pointer: '/actions',
        detail: 'selects none of the actions event-generator v0.10 runs in a pod (e.g. ^syscall)',
      },
    ]);
    expect((await request(built.app).get('/triggers').set(auth)).body.runs).toEqual([]);
  });

  // Regression (review): with the stable rules alone, ^syscall.MountLaunchedInPrivilegedContainer$
  // was refused as needing TRIGGER_EVENT_GENERATOR_PRIVILEGED=true, which only led to a second 400:
  // its rule is incubating, so no privilege lets such a run verify anything.
  it('names no privilege for an action whose rule Falco does not load, privileged or not', async () => {
    built = buildTriggerApp(ENABLED);

    const res = await request(built.app)
      .post('/triggers/event-generator')
      .set(auth)
      .send({ actions: '^syscall.MountLaunchedInPrivilegedContainer$' });

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        pointer: '/actions',
        detail:
          'selects only actions whose rules Falco does not load or enable by default (TRIGGER_FALCO_RULES=stable), so nothing could be verified (e.g. ^syscall.ReadSensitiveFileUntrusted$)',
      },
    ]);
  });

  // Regression (review): Debugfs and Mount were said to be skipped by event-generator; without capsh
  // in the v0.13.0 image its CAP_SYS_ADMIN check falls through and runs them, and it is Falco's
  // rule (container.privileged=true) that an unprivileged pod cannot meet.
  it('says a privileged-only rule is what the Job pod cannot trigger, naming the setting that grants it', async () => {
    built = buildTriggerApp({ ...ENABLED, TRIGGER_FALCO_RULES: 'stable,incubating' });

    const res = await request(built.app)
      .post('/triggers/event-generator')
      .set(auth)
      .send({ actions: '^syscall.(Mount|Debugfs)' });

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        pointer: '/actions',
        detail:
          'selects only actions whose rules the Job pod a run installs cannot trigger: ' +
          'syscall.DebugfsLaunchedInPrivilegedContainer needs a privileged container (TRIGGER_EVENT_GENERATOR_PRIVILEGED=true); ' +
          'syscall.MountLaunchedInPrivilegedContainer needs a privileged container (TRIGGER_EVENT_GENERATOR_PRIVILEGED=true), ' +
          'so nothing could be verified',
      },
    ]);
  });

  // Regression (review): a docker container name such as compose v1's could not be allow-listed.
  it('takes an allow-listed docker container name on the docker backend only', async () => {
    built = buildTriggerApp({ ...ENABLED, TRIGGER_ALLOWED_CONTAINERS: 'app,myproj_web_1' });

    const inPod = await request(built.app)
      .post('/triggers/shell')
      .set(auth)
      .send({ backend: 'kubernetes', pod: 'web-1', container: 'myproj_web_1' });
    const docker = await request(built.app)
      .post('/triggers/shell')
      .set(auth)
      .send({ backend: 'docker', container: 'myproj_web_1' });

    expect(inPod.status).toBe(400);
    expect(inPod.body.errors).toEqual([
      { pointer: '/container', detail: 'must be a valid Kubernetes container name' },
    ]);
    expect(docker.status).toBe(202);
    expect(docker.body.target).toEqual({ backend: 'docker', container: 'myproj_web_1' });
  });

  // Regression (new-user audit): {"backend":"docker","pod":"x"} said 'pod is not in the allow-list
  // (empty)', as if allow-listing it would help; docs/triggers.md says docker refuses the field.
  it.each([
    [{ backend: 'docker', pod: 'x' }, {}, '/pod', 'the docker backend has no pods: name a container'],
    [
      { pod: 'Not_A_Pod' },
      { TRIGGER_DEFAULT_BACKEND: 'docker' },
      '/pod',
      'the docker backend has no pods: name a container',
    ],
    [{ backend: 'docker', namespace: 'kube-system' }, {}, '/namespace', 'not used by the docker backend'],
    [{ backend: 'docker', namespace: 'default;id' }, {}, '/namespace', 'not used by the docker backend'],
  ])(
    'refuses %o on docker as a field docker does not use, whatever its value (%o)',
    async (body, env, pointer, detail) => {
      built = buildTriggerApp({ ...ENABLED, TRIGGER_ALLOWED_PODS: '', ...env });
      const res = await request(built.app).post('/triggers/shell').set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ pointer, detail }]);
      expect(res.body.detail).toBe(`${pointer} ${detail}`);
    },
  );

  // Regression (review): the unused fields were answered on their own, so a docker body with a pod and
  // a container that is not a name, a misspelt field or a terminal that is not a boolean got one 400
  // for the pod, and another for the rest once it was taken out; a backend that is not one (null)
  // was read as the default, docker, and refused as a pod docker does not use.
  it.each([
    [
      { backend: 'docker', pod: 'web-1', container: 'bad name!' },
      {},
      [
        { pointer: '/pod', detail: 'the docker backend has no pods: name a container' },
        { pointer: '/container', detail: 'must be a valid container name' },
        { pointer: '/container', detail: 'container is not in the allow-list (app)' },
      ],
    ],
    [
      { backend: 'docker', namespace: 'default', contaner: 'app', terminal: 'no' },
      {},
      [
        { pointer: '/namespace', detail: 'not used by the docker backend' },
        { pointer: '/terminal', detail: 'Invalid input: expected boolean, received string' },
        { pointer: '/contaner', detail: 'is not a field of this trigger' },
      ],
    ],
    [
      { backend: null, pod: 'web-1' },
      { TRIGGER_DEFAULT_BACKEND: 'docker' },
      [{ pointer: '/backend', detail: 'Invalid option: expected one of "kubernetes"|"docker"' }],
    ],
  ])('names a field docker does not use beside every other problem of %o (%o)', async (body, env, errors) => {
    built = buildTriggerApp({ ...ENABLED, ...env });
    const res = await request(built.app).post('/triggers/shell').set(auth).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(errors);
  });

  it('answers 400 for unknown body fields and for a body that is not JSON', async () => {
    built = buildTriggerApp(ENABLED);
    const unknown = await request(built.app).post('/triggers/shell').set(auth).send({ command: 'id' });
    expect(unknown.status).toBe(400);
    const broken = await request(built.app)
      .post('/triggers/shell')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"namespace":');
    expect(broken.status).toBe(400);
  });

  // Each unknown field was named twice: 1,900 made a 184 KB answer to a 14 KB body (found by review).
  it('names at most 20 unknown fields, as ingest does, and counts the rest', async () => {
    built = buildTriggerApp(ENABLED);
    const body = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, 1]));
    const res = await request(built.app).post('/triggers/shell').set(auth).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(20);
    expect(res.body.detail).toMatch(/^\/f0 is not a field of this trigger; .* \(and 980 more\)$/);
    expect(res.text.length).toBeLessThan(4096);
  });

  // body-parser reads no body once the request counts as finished, and the run started with every
  // default for a body that asked for a bogus backend (found by review).
  it('refuses a body it could not read (the client half-closed after sending) instead of running with defaults', async () => {
    built = buildTriggerApp(ENABLED);
    const server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    try {
      const body = '{"backend":"bogus"}';
      const socket = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.end(
        `POST /triggers/shell HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      // node:http closes a half-closed connection before an answer it has to wait for: the audit line says.
      const audited = () =>
        built!.logs.find((line) => line.event === 'trigger_audit' && line.trigger === 'shell');
      await expect.poll(audited, { timeout: 5_000 }).toBeDefined();
      expect(audited()).toMatchObject({ outcome: 'invalid', status: 400 });
      expect((await request(built.app).get('/triggers').set(auth)).body.runs).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('answers 415 for a body that is not sent as JSON instead of running with defaults', async () => {
    built = buildTriggerApp(ENABLED);
    const res = await request(built.app)
      .post('/triggers/shell')
      .set(auth)
      .set('Content-Type', 'text/plain')
      .send('namespace=kube-system');
    expect(res.status).toBe(415);
    expect((await request(built.app).get('/triggers').set(auth)).body.runs).toEqual([]);
  });

  it.each([
    ['a body above 16 KB', 'application/json', `{"namespace":"${'a'.repeat(30_000)}"}`, 413],
    ['a latin1 body', 'application/json; charset=latin1', '{}', 415],
    // body-parser decodes UTF-16 itself: the same bytes read as another text, refused as not JSON.
    ['a UTF-16 body', 'application/json; charset=utf-16', '{}', 415],
    ['malformed JSON', 'application/json', '{"namespace":', 400],
    ['null', 'application/json', 'null', 400],
  ])(
    'answers %s with %s problem+json and one audit line naming the trigger',
    async (_, type, body, status) => {
      built = buildTriggerApp(ENABLED);
      const res = await request(built.app)
        .post('/triggers/shell')
        .set(auth)
        .set('Content-Type', type)
        .send(body);

      expect(res.status).toBe(status);
      expect(res.type).toBe('application/problem+json');
      expect(built.logs.filter((line) => line.event === 'trigger_audit')).toEqual([
        expect.objectContaining({ trigger: 'shell', outcome: 'invalid', status }),
      ]);
    },
  );

  it('names the trigger in the audit line of a 415', async () => {
    built = buildTriggerApp(ENABLED);
    await request(built.app)
      .post('/triggers/event-generator')
      .set(auth)
      .set('Content-Type', 'text/plain')
      .send('x');
    expect(built.logs.find((line) => line.event === 'trigger_audit')).toMatchObject({
      trigger: 'event-generator',
      status: 415,
    });
  });

  it('keeps ingest working (202) after rejected trigger calls', async () => {
    built = buildTriggerApp(ENABLED);
    await request(built.app).post('/triggers/shell').send({});
    await request(built.app).post('/triggers/shell').set(auth).send({ namespace: 'x;y' });
    const res = await request(built.app).post('/alerts').set('Content-Type', 'application/json').send(SAMPLE);
    expect(res.status).toBe(202);
  });

  it('answers 404 problem+json for an unknown run id', async () => {
    built = buildTriggerApp(ENABLED);
    const res = await request(built.app).get('/triggers/does-not-exist').set(auth);
    expect(res.status).toBe(404);
  });
});
