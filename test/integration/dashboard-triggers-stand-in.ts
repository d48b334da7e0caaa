import express from 'express';

/**
 * TEST STAND-IN for the triggers API, which is built on another branch and not on main yet. It
 * follows the agreed contract (bearer token, POST /triggers/:kind -> 202 + Location,
 * GET /triggers/:id) and records every request. Its run's verification flips from pending to
 * detected on the second read, so the page's polling and verdict are exercised. Replace with the
 * real triggers router once it is merged.
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
    const settled = (reads.get(id) ?? 0) >= 2;
    if (settled && failing.has(id))
      return {
        id,
        kind,
        status: 'failed',
        error: 'helm is not installed or not on PATH',
        commands: [],
        verification: { windowMs: 30_000, expectations: [{ rule: EXPECTED_RULE, status: 'not_run' }] },
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
    if ((req.body as { namespace?: string } | undefined)?.namespace === 'failing') failing.add(id);
    res
      .status(202)
      .location(`/triggers/${id}`)
      .json({ ...runView(id, req.params.kind), status: 'queued' });
  });

  router.get('/triggers/:id', (req, res) => {
    const count = reads.get(req.params.id);
    if (count === undefined) {
      res.status(404).json({ status: 404, title: 'Not found' });
      return;
    }
    reads.set(req.params.id, count + 1);
    res.json(runView(req.params.id, 'shell'));
  });

  return { router, calls };
}
