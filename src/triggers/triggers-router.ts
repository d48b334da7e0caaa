import express, { type NextFunction, type Request, type Response } from 'express';
import type { ZodError } from 'zod';
import type { FieldProblem } from '../alerts/parse-falco-alert.js';
import type { TriggersConfig } from '../config/triggers-env.js';
import { bodyRefusal } from '../http/body-refusal.js';
import { buildProblem, PROBLEM_TYPES, sendProblem } from '../http/problem.js';
import { isAuthorized } from './bearer-auth.js';
import type { RunRegistry } from './run-registry.js';
import type { TriggerRun } from './trigger-run.js';
import {
  buildEventGeneratorRequestSchema,
  buildShellRequestSchema,
  checkGeneratorActions,
  checkShellBackend,
  toFieldProblems,
  type ShellRequest,
} from './trigger-request-schema.js';
import { describeTarget, type TriggerRequest } from './trigger-request.js';
import type { TriggerService } from './trigger-service.js';

export interface TriggersRouterDeps {
  config: TriggersConfig;
  service: TriggerService;
  registry: RunRegistry;
  /** Who may call; by default `Authorization: Bearer <TRIGGER_TOKEN>`. */
  authorize?: (req: Request) => boolean;
}

const DEFAULT_ACTIONS = '^syscall';
const BODY_LIMIT = '16kb';

type Audit = {
  trigger: string;
  outcome: string;
  status: number;
  target?: Record<string, string>;
  runId?: string;
};

// One line per call: who, which trigger, which target, what happened. Never the token.
function audit(req: Request, fields: Audit): void {
  const who = { caller: req.socket.remoteAddress, user: req.authUser, via: req.access?.via };
  req.log.info({ event: 'trigger_audit', ...who, ...fields }, 'trigger API call');
}

// The audit name of a call, from a fixed set (the path itself may be anything a caller sends).
function callName(req: Request): string {
  // Under router.use('/triggers') the path is relative to it; under a route it is the whole path.
  const lower = req.path.toLowerCase();
  const path = lower.startsWith('/triggers') ? lower.slice('/triggers'.length) : lower;
  const [, segment = '', action] = path.split('/');
  if (req.method === 'POST' && (segment === 'shell' || segment === 'event-generator')) return segment;
  if (req.method === 'POST' && action === 'cancel') return 'cancel';
  if (req.method === 'GET') return segment === '' ? 'list' : 'get';
  return 'other';
}

// A request body is present when it is chunked or declares a length above zero (RFC 9112 6.3).
function carriesBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function resolveShellTarget(body: ShellRequest, config: TriggersConfig): TriggerRequest {
  const backend = body.backend ?? config.defaultBackend;
  const namespace = body.namespace ?? config.allowed.namespaces[0] ?? 'default';
  const existing = body.pod !== undefined || body.container !== undefined;
  const where = existing
    ? { pod: body.pod, container: body.container }
    : { image: body.image ?? config.allowed.images[0] ?? '' };
  // Docker has no namespaces; leaving it out keeps the run's target honest.
  const control = body.terminal === false ? { terminal: false as const } : {};
  return {
    kind: 'shell',
    target: { backend, ...(backend === 'kubernetes' ? { namespace } : {}), ...where, ...control },
  };
}

/** The trigger API: bearer auth on every route, validated bodies, 202 + Location for new runs. */
export function createTriggersRouter(deps: TriggersRouterDeps): express.Router {
  const { config, service, registry } = deps;
  const authorize =
    deps.authorize ?? ((req: Request) => isAuthorized(req.headers.authorization, config.token));
  const router = express.Router();
  const shellSchema = buildShellRequestSchema(config.allowed);
  const generatorSchema = buildEventGeneratorRequestSchema(config.allowed);

  router.use('/triggers', (req: Request, res: Response, next: NextFunction) => {
    if (authorize(req)) return next();
    audit(req, { trigger: callName(req), outcome: 'unauthorized', status: 401 });
    res.setHeader('WWW-Authenticate', 'Bearer realm="falco-alert-receiver triggers"');
    sendProblem(res, buildProblem('unauthorized', { detail: 'Send Authorization: Bearer <TRIGGER_TOKEN>.' }));
  });
  // A body of another media type would go unread and the run start with "all defaults". Chunked
  // bodies have no Content-Length, so presence is Transfer-Encoding or a non-zero length.
  router.post('/triggers/*path', (req: Request, res: Response, next: NextFunction) => {
    if (!carriesBody(req) || req.is('application/json')) return next();
    audit(req, { trigger: callName(req), outcome: 'invalid', status: 415 });
    sendProblem(
      res,
      buildProblem('unsupported-media-type', { detail: 'Send the body as application/json.' }),
    );
  });
  router.use('/triggers', express.json({ limit: BODY_LIMIT }));
  // What body-parser refuses: answered as every other refusal, with the status that says why, and audited.
  router.use('/triggers', (error: unknown, req: Request, res: Response, next: NextFunction) => {
    const refusal = bodyRefusal(error, BODY_LIMIT);
    if (!refusal) return next(error);
    audit(req, { trigger: callName(req), outcome: 'invalid', status: refusal.status });
    sendProblem(res, refusal);
  });

  const start = async (req: Request, res: Response, request: TriggerRequest) => {
    const target = describeTarget(request);
    const started = await service.start(request);
    if (!started.ok) {
      audit(req, { trigger: request.kind, outcome: 'busy', status: 429, target });
      const detail = `A ${request.kind} run is already in progress (TRIGGER_MAX_CONCURRENT=${config.maxConcurrent}).`;
      sendProblem(res, buildProblem('too-many-requests', { detail }));
      return;
    }
    audit(req, { trigger: request.kind, outcome: 'accepted', status: 202, target, runId: started.run.id });
    res.status(202).location(`/triggers/${started.run.id}`).json(started.run);
  };
  const invalid = (req: Request, res: Response, trigger: string, problems: ZodError | FieldProblem[]) => {
    const errors = Array.isArray(problems) ? problems : toFieldProblems(problems);
    audit(req, { trigger, outcome: 'invalid', status: 400 });
    const detail = errors.map((p) => `${p.pointer || '/'} ${p.detail}`).join('; ');
    sendProblem(res, buildProblem('invalid-request', { detail, errors }));
  };

  router.post('/triggers/shell', async (req: Request, res: Response) => {
    const parsed = shellSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(req, res, 'shell', parsed.error);
    const problems = checkShellBackend(parsed.data, parsed.data.backend ?? config.defaultBackend);
    if (problems.length > 0) return invalid(req, res, 'shell', problems);
    await start(req, res, resolveShellTarget(parsed.data, config));
  });
  router.post('/triggers/event-generator', async (req: Request, res: Response) => {
    const parsed = generatorSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(req, res, 'event-generator', parsed.error);
    const namespace = parsed.data.namespace ?? config.allowed.namespaces[0] ?? 'default';
    const actions = parsed.data.actions ?? DEFAULT_ACTIONS;
    const problems = checkGeneratorActions(actions, config.eventGenerator.version);
    if (problems.length > 0) return invalid(req, res, 'event-generator', problems);
    await start(req, res, { kind: 'event-generator', namespace, actions });
  });
  // A POST on the run's own cancel resource, not DELETE /triggers/:id: the run is not removed (GET
  // answers it, cancelled, for its retention), and a run that ended is a conflict, not a gone resource.
  router.post('/triggers/:id/cancel', async (req: Request, res: Response) => {
    const cancelled = await service.cancel(String(req.params.id));
    const runId = cancelled.ok || cancelled.reason !== 'not-found' ? cancelled.run.id : undefined;
    const status = cancelled.ok ? 202 : PROBLEM_TYPES[CANCEL_REFUSALS[cancelled.reason].type].status;
    audit(req, { trigger: 'cancel', outcome: cancelled.ok ? 'accepted' : cancelled.reason, status, runId });
    if (cancelled.ok) {
      res.status(202).location(`/triggers/${cancelled.run.id}`);
      return sendRuns(req, res, cancelled.run, [cancelled.run]);
    }
    const { type, detail } = CANCEL_REFUSALS[cancelled.reason];
    const ended = cancelled.reason === 'finished' ? ` (${cancelled.run.status})` : '';
    sendProblem(res, buildProblem(type, { detail: `${detail}${ended}.` }));
  });
  router.get('/triggers', async (req: Request, res: Response) => {
    const runs = await registry.list();
    audit(req, { trigger: 'list', outcome: 'ok', status: 200 });
    sendRuns(req, res, { runs }, runs);
  });
  router.get('/triggers/:id', async (req: Request, res: Response) => {
    const run = await registry.get(String(req.params.id));
    audit(req, {
      trigger: 'get',
      outcome: run ? 'ok' : 'not-found',
      status: run ? 200 : 404,
      runId: run?.id,
    });
    if (!run) return sendProblem(res, buildProblem('not-found', { detail: 'No such trigger run.' }));
    sendRuns(req, res, run, [run]);
  });
  return router;
}

/**
 * Sends `body` (holding `runs`) as JSON. A reader without the trigger role (VIEWER_TOKEN, the
 * trusted proxy's users) never sees a run's nonce (its field, its command line, its output): with
 * it anyone who can post alerts could fake the alert that verifies the run, the negative control
 * included.
 */
function sendRuns(req: Request, res: Response, body: unknown, runs: readonly TriggerRun[]): void {
  let json = JSON.stringify(body);
  if (req.access !== undefined && req.access.role !== 'trigger') {
    for (const { nonce } of runs) if (nonce) json = json.replaceAll(nonce, HIDDEN_NONCE);
  }
  res.type('application/json').set('Cache-Control', 'no-store').send(json);
}

// Why a run could not be cancelled, as the answer says it.
const CANCEL_REFUSALS = {
  'not-found': { type: 'not-found', detail: 'No such trigger run' },
  finished: { type: 'conflict', detail: 'The run has already ended' },
  unavailable: {
    type: 'service-unavailable',
    detail: 'The replica running the run could not be asked to cancel it; try again',
  },
} as const;

/** What a viewer reads in place of a run's nonce. */
export const HIDDEN_NONCE = '[nonce hidden]';
