import { isIP } from 'node:net';
import * as z from 'zod';
import { HOST_NAME } from './allowed-hosts.js';
import { triggersEnvShape } from './triggers-env.js';
import { hardeningEnvShape } from './hardening-env.js';
import { clusterEnvShape } from './cluster-env.js';
import { storeEnvShape } from './store-env.js';
import { authEnvShape } from './auth-env.js';
import { labelNameProblem, toLabelName, type ExtraLabel } from '../metrics/extra-labels.js';
import { timerMs } from './timer-ms.js';
import { numberSetting, port, positiveInt } from './env-number.js';

const csv = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const extraLabels = csv.transform((fields, ctx): ExtraLabel[] => {
  const labels = fields.map((field) => ({ field, label: toLabelName(field) }));
  const seen = new Set<string>();
  for (const { field, label } of labels) {
    const problem = seen.has(label)
      ? `${field} maps to label ${label}, which another field already uses`
      : labelNameProblem(label);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    seen.add(label);
  }
  return labels;
});

/**
 * The service's environment. Every setting has its default here; `loadConfig` is the only reader
 * of process.env.
 */
export const envSchema = z.object({
  PORT: port.default(8080),
  // An IPv6 address as URLs write it ([::], [fd00::1]) is the address: Node looked `[::]` up as a name.
  // Listened on as given: HOST="0.0.0.0" (quotes kept), or 0.0.0.0:8080 failed the listen with
  // a bare `getaddrinfo ENOTFOUND` (exit 1), naming no variable.
  HOST: z
    .string()
    .trim()
    .min(1)
    .transform((host) => {
      const inside = /^\[([^\]]+)\]$/.exec(host)?.[1];
      return inside !== undefined && isIP(inside) === 6 ? inside : host;
    })
    .refine(
      (host) => isIP(host) !== 0 || HOST_NAME.test(host.toLowerCase()),
      'must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name, without scheme or port (an IPv6 address may be in brackets)',
    )
    .default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // 1.75 MiB: above default-config Falco's largest alert (a k8saudit configmap at maxEventSize,
  // escaped twice, in output, output_fields and, with json_include_message_property, message: about
  // 1.5 MiB); below the ~2 MiB bodies a receiver refuses (README, BODY_LIMIT_BYTES).
  BODY_LIMIT_BYTES: positiveInt.default(1792 * 1024),
  STORE_MAX_ALERTS: positiveInt.default(10_000),
  // Held objects take 2-4x their JSON size in memory: 32 MiB of bodies stays well inside a 320 MiB pod limit.
  STORE_MAX_BYTES: positiveInt.default(32 * 1024 * 1024),
  METRICS_MAX_RULES: positiveInt.default(500),
  METRICS_MAX_HOSTNAMES: positiveInt.default(1000),
  METRICS_MAX_SOURCES: positiveInt.default(20),
  METRICS_EXTRA_LABELS: extraLabels,
  METRICS_MAX_EXTRA_LABEL_VALUES: positiveInt.default(100),
  // At most 480 bytes per series (label values are cut at 200 bytes as written): 5000 are 2.4 MB at
  // most, about 1.4 MB with 200-character ASCII rule names.
  // At least 16: 8 of them are kept for the overflow series (one per priority).
  METRICS_MAX_SERIES: numberSetting(16, { note: ' (8 are kept for the overflow series)' }).default(5000),
  SHUTDOWN_DELAY_MS: timerMs(0).default(0),
  SHUTDOWN_TIMEOUT_MS: timerMs(1).default(10_000),
  STREAM_HEARTBEAT_MS: timerMs(1).default(15_000),
  STREAM_MAX_CLIENTS: positiveInt.default(100),
  ...triggersEnvShape,
  ...hardeningEnvShape,
  ...clusterEnvShape,
  ...storeEnvShape,
  ...authEnvShape,
});

export type Env = z.infer<typeof envSchema>;
