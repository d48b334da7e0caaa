import * as z from 'zod';

// DNS labels (letters, digits, '-', and '_' as some internal names have) joined by dots.
export const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

// Names a Host header may carry on read routes; IP literals are always allowed (see hostAllowed).
export const hostList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item !== ''),
  )
  .refine((hosts) => hosts.length > 0, { error: 'must name at least one host (or *)' })
  .superRefine((hosts, ctx) => {
    // Compared with the Host header's name, port dropped: a URL, a port or a space never matches,
    // and every name-based request would get 421.
    for (const host of hosts)
      if (host !== '*' && !HOST_NAME.test(host))
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(host)} is not a host name: write names only, such as alerts.example.org, without scheme, port or path (IP addresses always pass)`,
        });
  });
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
