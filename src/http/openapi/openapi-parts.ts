import * as z from 'zod';
import { falcoAlertSchema } from '../../alerts/falco-alert-schema.js';
import { toJsonSchema, type JsonSchema } from './json-schema.js';
import { problemSchema, storedAlertSchema, triggerRunSchema } from './response-schemas.js';

// Building blocks of the OpenAPI document's operations.

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: `errors[]` names each bad field or parameter',
  401: 'Missing or wrong credentials',
  404: 'Not found',
  409: 'The run has already ended',
  413: 'Body above BODY_LIMIT_BYTES',
  403: 'A browser request from a foreign Origin',
  415: 'Not JSON, compressed, or a charset other than UTF-8',
  421: 'A Host outside ALLOWED_HOSTS',
  429: 'Too many concurrent requests of this kind',
  503: 'Shutting down, over an ingest or read bound (with Retry-After), or the shared store unreachable or not serving (Redis loading, busy); for the trigger API also the shared store refusing a call (a key of another type, an ACL: logged as trigger_store_refused)',
};

// Schemas used by many operations, written once under components.schemas and referenced.
export const SHARED = {
  Problem: () => toJsonSchema(problemSchema, 'output'),
  FalcoAlert: () => toJsonSchema(falcoAlertSchema, 'input'),
  StoredAlert: () => toJsonSchema(storedAlertSchema, 'output'),
  TriggerRun: () => toJsonSchema(triggerRunSchema, 'output'),
};

export function ref(name: keyof typeof SHARED): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

export function json(schema: z.ZodType | JsonSchema, description: string): JsonSchema {
  const body = schema instanceof z.ZodType ? toJsonSchema(schema, 'output') : schema;
  return { description, content: { 'application/json': { schema: body } } };
}

export function text(type: string, description: string): JsonSchema {
  return { description, content: { [type]: { schema: { type: 'string' } } } };
}

export function problems(...statuses: number[]): Record<string, JsonSchema> {
  const schema = ref('Problem');
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { description: PROBLEM_DESCRIPTIONS[status], content: { 'application/problem+json': { schema } } },
    ]),
  );
}

export function idParameter(what: string): JsonSchema {
  return { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: what };
}
