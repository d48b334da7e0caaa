import express, { type NextFunction, type Request, type Response } from 'express';
import type { ZodError } from 'zod';
import { namedProblems, type FieldProblem } from '../alerts/parse-falco-alert.js';
import type { TriggersConfig } from '../config/triggers-env.js';
import { bodyRefusal } from '../http/body-refusal.js';
import { buildProblem, sendProblem } from '../http/problem.js';
import { isAuthorized } from './bearer-auth.js';
import { createCancelRunRoute } from './cancel-run-route.js';
import { requireReadBody } from './require-read-body.js';
import { resolveShellTarget } from './resolve-shell-target.js';
import type { RunRegistry } from './run-registry.js';
import { sendRuns } from './send-runs.js';
import { answerStoreFailure, partialListDetail, UNREAD_RUN } from './store-failure-answers.js';
import { audit, auditRefusal, callName, type RefusedCallFields } from './trigger-audit.js';
import type { RefusalLines } from '../http/auth/refusal-lines.js';
import {
  buildEventGeneratorRequestSchema,
  buildShellRequestSchema,
  checkGeneratorActions,
  checkShellBackend,
  checkUnusedFields,
  toFieldProblems,
} from './trigger-request-schema.js';
import { describeTarget, type TriggerRequest } from './trigger-request.js';
import type { ReadBudget } from '../http/read-budget.js';
import type { TriggerService } from './trigger-service.js';
import { readJsonBody } from '../http/read-json-body.js';

export interface TriggersRouterDeps {
  config: TriggersConfig;
  service: TriggerService;
  registry: RunRegistry;
  /** Who may call; by default `Authorization: Bearer <TRIGGER_TOKEN>`. */
  authorize?: (req: Request) => boolean;
  /** The readers' budget the alert lists share (QUERY_MAX_INFLIGHT_BYTES): run lists are held in it too. */
  readBudget?: ReadBudget;
  /** Where refused calls are audited, counted per kind (createRefusedCallAudits; the read guard's too). */
  refusedCalls: RefusalLines<RefusedCallFields>;
}

const DEFAULT_ACTIONS = '^syscall';
const BODY_LIMIT = '16kb';

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
    auditRefusal(req, 401, deps.refusedCalls);
    res.setHeader('WWW-Authenticate', 'Bearer realm="falco-alert-receiver triggers"');
    sendProblem(res, buildProblem('unauthorized', { detail: 'Send Authorization: Bearer <TRIGGER_TOKEN>.' }));
  });
  // Read as ingest reads its bodies: a repeated key is refused, a gzip body is 415, not inflated. A
  // call's body in another media type or charset is refused (415), not passed on unread or misread.
  router.use('/triggers', readJsonBody(BODY_LIMIT, { requireJson: (req) => req.method === 'POST' }));
  // What the body reader refuses: answered as every other refusal, with the status that says why, and audited.
  router.use('/triggers', (error: unknown, req: Request, res: Response, next: NextFunction) => {
    const refusal = bodyRefusal(error, BODY_LIMIT);
    if (!refusal) return next(error);
    audit(req, { trigger: callName(req), outcome: 'invalid', status: refusal.status });
    sendProblem(res, refusal);
  });
  router.post('/triggers/*path', requireReadBody);

  const start = async (req: Request, res: Response, request: TriggerRequest) => {
    const target = describeTarget(request);
    const started = await service.start(request);
    if (!started.ok && started.reason === 'store-refused') {
      const consequence =
        'no slot could be taken, so TRIGGER_MAX_CONCURRENT could not be held across replicas';
      return answerStoreFailure(req, res, 'refused', consequence, { trigger: request.kind, target });
    }
    if (!started.ok) {
      audit(req, { trigger: request.kind, outcome: 'busy', status: 429, target });
      const detail =
        started.reason === 'busy'
          ? `A ${request.kind} run is already in progress (TRIGGER_MAX_CONCURRENT=${config.maxConcurrent}).`
          : `${config.maxRuns} runs are still running or verifying (TRIGGER_MAX_RUNS); each ends within TRIGGER_VERIFY_WINDOW_MS of its start.`;
      sendProblem(res, buildProblem('too-many-requests', { detail }));
      return;
    }
    audit(req, { trigger: request.kind, outcome: 'accepted', status: 202, target, runId: started.run.id });
    res.status(202).location(`/triggers/${started.run.id}`).json(started.run);
  };
  const invalid = (req: Request, res: Response, trigger: string, problems: ZodError | FieldProblem[]) => {
    // As ingest does: 1,900 unknown fields were each named twice, a 184 KB answer to 14 KB (found by review).
    const named = namedProblems(Array.isArray(problems) ? problems : toFieldProblems(problems));
    audit(req, { trigger, outcome: 'invalid', status: 400 });
    sendProblem(res, buildProblem('invalid-request', { detail: named.detail, errors: named.problems }));
  };

  router.post('/triggers/shell', async (req: Request, res: Response) => {
    const unused = checkUnusedFields(req.body ?? {}, config.defaultBackend);
    const parsed = shellSchema.safeParse(unused.rest);
    if (!parsed.success || unused.problems.length > 0) {
      const rest = parsed.success ? [] : toFieldProblems(parsed.error);
      return invalid(req, res, 'shell', [...unused.problems, ...rest]);
    }
    const problems = checkShellBackend(parsed.data, parsed.data.backend ?? config.defaultBackend);
    if (problems.length > 0) return invalid(req, res, 'shell', problems);
    await start(req, res, resolveShellTarget(parsed.data, config));
  });
  router.post('/triggers/event-generator', async (req: Request, res: Response) => {
    const parsed = generatorSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(req, res, 'event-generator', parsed.error);
    const namespace = parsed.data.namespace ?? config.allowed.namespaces[0] ?? 'default';
    const actions = parsed.data.actions ?? DEFAULT_ACTIONS;
    const problems = checkGeneratorActions(actions, config.eventGenerator);
    if (problems.length > 0) return invalid(req, res, 'event-generator', problems);
    await start(req, res, { kind: 'event-generator', namespace, actions });
  });
  // A POST on the run's own cancel resource, not DELETE /triggers/:id: the run is not removed (GET
  // answers it, cancelled, for its retention), and a run that ended is a conflict, not a gone resource.
  router.post('/triggers/:id/cancel', createCancelRunRoute(service));
  // Without the store (or some stored runs unread), the runs read, and a body that says the list is partial.
  router.get('/triggers', async (req: Request, res: Response) => {
    const list = await registry.list();
    const { runs } = list;
    const detail = partialListDetail(list);
    audit(req, { trigger: 'list', outcome: detail ? 'partial' : 'ok', status: 200 });
    sendRuns(req, res, detail ? { runs, partial: true, detail } : { runs }, runs, deps.readBudget);
  });
  router.get('/triggers/:id', async (req: Request, res: Response) => {
    const found = await registry.get(String(req.params.id));
    if (found.failure) return answerStoreFailure(req, res, found.failure, UNREAD_RUN, { trigger: 'get' });
    const { run } = found;
    audit(req, {
      trigger: 'get',
      outcome: run ? 'ok' : 'not-found',
      status: run ? 200 : 404,
      runId: run?.id,
    });
    if (!run) return sendProblem(res, buildProblem('not-found', { detail: 'No such trigger run.' }));
    sendRuns(req, res, run, [run], deps.readBudget);
  });
  return router;
}
