import * as z from 'zod';

// Names a Host header may carry on read routes; IP literals are always allowed (see hostAllowed).
export const hostList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item !== ''),
  )
  .refine((hosts) => hosts.length > 0, { error: 'must name at least one host (or *)' });
/**
 * Loopback names and the Service's DNS names in k8s/ (Service falco-alert-receiver, namespace falco).
 * Pod IPs (Prometheus, kubelet probes) are IP literals and always pass.
 */
export const DEFAULT_ALLOWED_HOSTS = [
  'localhost',
  'falco-alert-receiver',
  'falco-alert-receiver.falco',
  'falco-alert-receiver.falco.svc',
  'falco-alert-receiver.falco.svc.cluster.local',
];
