import type { TriggersConfig } from '../config/triggers-env.js';
import type { ShellRequest } from './trigger-request-schema.js';
import type { TriggerRequest } from './trigger-request.js';

/** The shell run a validated body asks for, its omitted fields filled from the configuration. */
export function resolveShellTarget(body: ShellRequest, config: TriggersConfig): TriggerRequest {
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
