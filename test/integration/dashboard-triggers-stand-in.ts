import express from 'express';

/**
 * TEST STAND-IN for the triggers API on the page's side: the real router (test/triggers) needs a
 * cluster stand-in and minutes per run, the page only its contract (bearer token,
 * POST /triggers/:kind -> 202 + Location, GET /triggers/:id, POST /triggers/:id/cancel), and every
 * request is recorded. Its run's verification flips from pending to detected on the second read, so
 * the page's polling and verdict are exercised.
 */
export interface TriggersStandIn {
  router: express.Router;
  /** Every request received, in order. */
  calls: { method: string; path: string; authorization?: string; body?: unknown }[];
}

const EXPECTED_RULE = 'Terminal shell in container';

export function createTriggersStandIn(token: string): TriggersStandIn {
  const router = express.Router();
  const calls: TriggersStandIn['calls'] = [];
  const reads = new Map<string, number>();
  // Runs started for namespace "failing" end failed (helm missing), their rule not_run.
  const failing = new Set<string>();
  // Runs started for namespace "slow" run until cancelled (POST /triggers/:id/cancel), then fail.
  const slow = new Set<string>();
  const cancelled = new Set<string>();
  // Runs started for namespace "unseen" end missed, alerts having gone by unseen while they waited;
  // those of "unseen-detected" end detected all the same.
  const unseen = new Set<string>();
  const unseenDetected = new Set<string>();
  // Runs started for namespace "flaky" answer their first two reads 503, as a replica behind a load
  // balancer does while Redis is briefly down and the run is another replica's.
  const flaky = new Set<string>();
  let nextId = 1;

  router.use('/triggers', express.json(), (req, res, next) => {
    calls.push({
      method: req.method,
      path: req.originalUrl,
      authorization: req.headers.authorization,
      body: req.body,
    });
    if (req.headers.authorization !== `Bearer ${token}`) {
      res
        .status(401)
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: 'urn:test:unauthorized',
            title: 'Missing or wrong bearer token',
            status: 401,
          }),
        );
      return;
    }
    next();
  });

  const runView = (id: string, kind: string) => {
    if (cancelled.has(id))
      return {
        id,
        kind,
        status: 'failed',
        error: 'cancelled on request: kubectl was cancelled',
        commands: [],
        verification: { windowMs: 30_000, expectations: [{ rule: EXPECTED_RULE, status: 'not_run' }] },
      };
    const settled = !slow.has(id) && (reads.get(id) ?? 0) >= 2;
    if (settled && failing.has(id))
      return {
        id,
        kind,
        status: 'failed',
        error: 'helm is not installed or not on PATH',
        commands: [],
        verification: { windowMs: 30_000, expectations: [{ rule: EXPECTED_RULE, status: 'not_run' }] },
      };
    if (settled && (unseen.has(id) || unseenDetected.has(id)))
      return {
        id,
        kind,
        status: 'succeeded',
        commands: [],
        verification: {
          windowMs: 30_000,
          expectations: [
            unseen.has(id)
              ? { rule: EXPECTED_RULE, status: 'missed' }
              : { rule: EXPECTED_RULE, status: 'detected', alertId: 'stand-in-alert', latencyMs: 840 },
          ],
          unseenAlertsAt: '2026-12-05T06:00:00.000Z',
        },
      };
    return {
      id,
      kind,
      status: settled ? 'succeeded' : 'running',
      commands: settled
        ? [
            {
              argv: ['kubectl', 'exec', 'nginx', '--', 'sh', '-c', 'true'],
              exitCode: 0,
              durationMs: 412,
              timedOut: false,
              failed: false,
              output: '',
            },
          ]
        : [],
      verification: {
        windowMs: 30_000,
        expectations: [
          settled
            ? { rule: EXPECTED_RULE, status: 'detected', alertId: 'stand-in-alert', latencyMs: 840 }
            : { rule: EXPECTED_RULE, status: 'pending' },
        ],
      },
    };
  };

  router.post('/triggers/:kind', (req, res) => {
    const id = `run-${nextId++}`;
    reads.set(id, 0);
    const namespace = (req.body as { namespace?: string } | undefined)?.namespace;
    if (namespace === 'failing') failing.add(id);
    if (namespace === 'slow') slow.add(id);
    if (namespace === 'unseen') unseen.add(id);
    if (namespace === 'unseen-detected') unseenDetected.add(id);
    if (namespace === 'flaky') flaky.add(id);
    res
      .status(202)
      .location(`/triggers/${id}`)
      .json({ ...runView(id, req.params.kind), status: 'queued' });
  });

  router.post('/triggers/:id/cancel', (req, res) => {
    const id = req.params.id;
    if (!slow.has(id) || cancelled.has(id)) {
      res
        .status(409)
        .type('application/problem+json')
        .send(JSON.stringify({ type: 'urn:test:conflict', title: 'The run has already ended', status: 409 }));
      return;
    }
    cancelled.add(id);
    res
      .status(202)
      .json({ ...runView(id, 'shell'), status: 'running', cancelRequestedAt: new Date().toISOString() });
  });

  const unavailable = new Map<string, number>();
  const unavailableReads = (id: string) => {
    unavailable.set(id, (unavailable.get(id) ?? 0) + 1);
    return unavailable.get(id)!;
  };

  router.get('/triggers/:id', (req, res) => {
    const count = reads.get(req.params.id);
    if (count === undefined) {
      res.status(404).json({ status: 404, title: 'Not found' });
      return;
    }
    if (flaky.has(req.params.id) && unavailableReads(req.params.id) <= 2) {
      res
        .status(503)
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: 'urn:test:service-unavailable',
            title: 'Service unavailable',
            status: 503,
            detail:
              'The shared store (Redis) is unavailable: a run another replica started cannot be read now; try again.',
          }),
        );
      return;
    }
    reads.set(req.params.id, count + 1);
    res.json(runView(req.params.id, 'shell'));
  });

  return { router, calls };
}
