import * as z from 'zod';
import { toPointer } from '../alerts/json-pointer.js';
import type { FieldProblem } from '../alerts/parse-falco-alert.js';
import { compileActionsPattern } from './actions-pattern.js';
import {
  type GeneratorRules,
  selectActionsLackingNeeds,
  selectContainerActions,
  selectExpectedRules,
} from './expected-rules.js';
import { describeUnmetNeeds } from './pod-needs.js';

import { CONTAINER_NAME, DNS_LABEL, DNS_SUBDOMAIN, IMAGE_REFERENCE } from './names.js';
/**
 * Regex characters event-generator needs, and nothing a shell, helm's --set parser (`,` `=` `\`
 * `{`) or YAML could misread: no quotes, spaces, commas, backslashes or braces.
 */
const SAFE_ACTIONS = /^[A-Za-z0-9_.^$*+?()|[\]-]{1,200}$/;

/** What the request bodies may name. */
export interface AllowLists {
  namespaces: readonly string[];
  pods: readonly string[];
  containers: readonly string[];
  images: readonly string[];
}

const allowed =
  (list: readonly string[], what: string) => (value: string | undefined, ctx: z.RefinementCtx) => {
    if (value !== undefined && !list.includes(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} is not in the allow-list (${list.length === 0 ? 'empty' : list.join(', ')})`,
      });
    }
  };

const namespaceField = (lists: AllowLists) =>
  z
    .string()
    .regex(DNS_LABEL, 'must be a valid Kubernetes namespace name')
    .optional()
    .superRefine(allowed(lists.namespaces, 'namespace'));

/** Body of POST /triggers/shell. */
export function buildShellRequestSchema(lists: AllowLists) {
  return z
    .strictObject({
      backend: z.enum(['kubernetes', 'docker']).optional(),
      namespace: namespaceField(lists),
      pod: z
        .string()
        .regex(DNS_SUBDOMAIN, 'must be a valid Kubernetes pod name')
        .optional()
        .superRefine(allowed(lists.pods, 'pod')),
      // Docker's rule here; checkShellBackend holds the kubernetes backend to Kubernetes' own.
      container: z
        .string()
        .regex(CONTAINER_NAME, 'must be a valid container name')
        .optional()
        .superRefine(allowed(lists.containers, 'container')),
      image: z
        .string()
        .regex(IMAGE_REFERENCE, 'must be an image reference')
        .optional()
        .superRefine(allowed(lists.images, 'image')),
      // false: a negative control, expected to end missed (proves a detection is not assumed).
      terminal: z.boolean().optional(),
    })
    .superRefine((body, ctx) => {
      if (body.image !== undefined && (body.pod !== undefined || body.container !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['image'],
          message: 'give either image (a new container) or pod/container (an existing one)',
        });
      }
    });
}

const UNUSED_ON_DOCKER = [
  { field: 'pod', detail: 'the docker backend has no pods: name a container' },
  { field: 'namespace', detail: 'not used by the docker backend' },
] as const;

/** A shell body's fields the docker backend does not use, and the rest of it for the schema to judge. */
export interface UnusedFields {
  problems: FieldProblem[];
  rest: unknown;
}

/**
 * The fields of a shell body the docker backend does not use, when the body resolves to it: read
 * before the schema, whatever their value. Judged by the schema first, a pod on docker was refused as
 * 'not in the allow-list (empty)' (or not a Kubernetes pod name), as if allow-listing it would help.
 * Said, not dropped: a caller who names one expects the run to be held to it. The schema still judges
 * the rest, so that one answer names every problem: answered alone, a pod on docker hid a container
 * that is not a name, or a misspelt field, until a second request.
 */
export function checkUnusedFields(body: unknown, defaultBackend: 'kubernetes' | 'docker'): UnusedFields {
  if (typeof body !== 'object' || body === null) return { problems: [], rest: body };
  const fields = body as Record<string, unknown>;
  // Absent only: a backend that is not one (null, "Docker") is the schema's to refuse, not docker.
  if ((fields.backend === undefined ? defaultBackend : fields.backend) !== 'docker')
    return { problems: [], rest: body };
  const unused = UNUSED_ON_DOCKER.filter(({ field }) => fields[field] !== undefined);
  if (unused.length === 0) return { problems: [], rest: body };
  const names = new Set<string>(unused.map(({ field }) => field));
  return {
    problems: unused.map(({ field, detail }) => ({ pointer: `/${field}`, detail })),
    rest: Object.fromEntries(Object.entries(fields).filter(([name]) => !names.has(name))),
  };
}

/** Fields that do not fit the backend the request resolves to (known only after the config default). */
export function checkShellBackend(body: ShellRequest, backend: 'kubernetes' | 'docker'): FieldProblem[] {
  if (backend === 'kubernetes' && body.terminal === false) {
    return [{ pointer: '/terminal', detail: 'false (the negative control) needs the docker backend' }];
  }
  if (backend === 'kubernetes' && body.container !== undefined && body.pod === undefined) {
    return [{ pointer: '/pod', detail: 'required with container on the kubernetes backend' }];
  }
  // Without one the exec went into the pod's default container, which no allow-list names.
  if (backend === 'kubernetes' && body.pod !== undefined && body.container === undefined) {
    return [{ pointer: '/container', detail: 'required with pod on the kubernetes backend' }];
  }
  if (backend === 'kubernetes' && body.container !== undefined && !DNS_LABEL.test(body.container)) {
    return [{ pointer: '/container', detail: 'must be a valid Kubernetes container name' }];
  }
  return [];
}

/** Body of POST /triggers/event-generator. */
export function buildEventGeneratorRequestSchema(lists: AllowLists) {
  return z.strictObject({
    actions: z
      .string()
      .regex(SAFE_ACTIONS, 'must use only letters, digits and the regex characters _ . ^ $ * + ? ( ) | [ ] -')
      .superRefine(compilesAsRe2)
      .optional(),
    namespace: namespaceField(lists),
  });
}

/**
 * An `actions` pattern that selects none of the version's actions that run in a pod (event-generator
 * would run nothing and exit 0), or only actions whose rule Falco does not load (a rules file outside
 * `falcoRules`) or enable by default, or whose rule the Job pod cannot trigger for want of a privilege
 * or capsh (the detail names what each needs): either way the run would succeed having verified nothing.
 */
export function checkGeneratorActions(actions: string, rules: GeneratorRules): FieldProblem[] {
  const compiled = compileActionsPattern(actions);
  if (!compiled.ok || selectExpectedRules(rules, compiled.pattern).length > 0) return [];
  const started = selectContainerActions(rules.version, compiled.pattern);
  const lacking = selectActionsLackingNeeds(rules, compiled.pattern);
  // Only actions whose rule Falco loads are named: for another, meeting its needs would be no fix.
  const untriggered = `whose rules the Job pod a run installs cannot trigger: ${lacking.map((action) => describeUnmetNeeds(action, rules.privileged)).join('; ')}`;
  const unloaded = `whose rules Falco does not load or enable by default (TRIGGER_FALCO_RULES=${rules.falcoRules.join(',')})`;
  const detail =
    started.length === 0
      ? `selects none of the actions event-generator ${rules.version} runs in a pod (e.g. ^syscall)`
      : lacking.length === started.length
        ? `selects only actions ${untriggered}, so nothing could be verified`
        : `selects only actions ${unloaded}${lacking.length > 0 ? ` or ${untriggered}` : ''}, so nothing could be verified (e.g. ^syscall.ReadSensitiveFileUntrusted$)`;
  return [{ pointer: '/actions', detail }];
}

// event-generator compiles the filter with Go's regexp (RE2 syntax): refuse what it would refuse,
// with RE2's message. RE2 matches in linear time, so no pattern shape needs refusing for speed.
function compilesAsRe2(pattern: string, ctx: z.RefinementCtx): void {
  // zod runs every check: text the allow-list refused (braces, 16 KB) is never compiled.
  if (!SAFE_ACTIONS.test(pattern)) return;
  const compiled = compileActionsPattern(pattern);
  if (!compiled.ok) {
    ctx.addIssue({ code: 'custom', message: `must be a valid RE2 regular expression (${compiled.reason})` });
  }
}

export type ShellRequest = z.infer<ReturnType<typeof buildShellRequestSchema>>;
export type EventGeneratorRequest = z.infer<ReturnType<typeof buildEventGeneratorRequestSchema>>;

/** zod issues as JSON pointers into the body; an unknown field is named by its own pointer. */
export function toFieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          pointer: toPointer([...issue.path, key]),
          detail: 'is not a field of this trigger',
        }))
      : [{ pointer: toPointer(issue.path), detail: issue.message }],
  );
}
