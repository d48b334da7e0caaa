import type { Config } from './load-config.js';

/** A setting that leaves open what it seems to close, and what stays open. */
export interface OpenSetting {
  variable: string;
  open: string;
}

/**
 * Settings taken as they are (each has a use) that leave something open the operator most likely
 * meant closed: said at start, since nothing else would say it.
 */
export function openSettings(config: Config): OpenSetting[] {
  const open: OpenSetting[] = [];
  const { proxy, viewerTokens } = config.auth;
  // AUTH_PROXY_CIDRS=0.0.0.0/0 ("allow the proxy from anywhere"): the header is then believed from
  // every client, and reading needs no token.
  const everyone = proxy?.cidrs.filter((cidr) => /\/0$/.test(cidr)) ?? [];
  if (proxy && everyone.length > 0)
    open.push({
      variable: 'AUTH_PROXY_CIDRS',
      open: `${everyone.join(', ')} trusts every address: any client that sends ${proxy.userHeader} reads as that user${viewerTokens.length > 0 ? ', without VIEWER_TOKEN' : ''}; name the proxy's addresses only`,
    });
  // One token for both (METRICS_TOKEN_FILE naming the viewer tokens file): the scraper's credential,
  // kept in Prometheus' configuration, reads every alert.
  if (config.auth.metricsTokens.some((token) => viewerTokens.includes(token)))
    open.push({
      variable: 'METRICS_TOKEN',
      open: 'also a viewer token: whatever scrapes /metrics with it reads every alert as well',
    });
  // mTLS set up by hand without INGEST_REQUIRE_CLIENT_CERT: the TLS listener checks certificates, and
  // PORT still takes alerts from anyone.
  const { tls, ingest } = config.hardening;
  if (tls?.clientCaFile !== undefined && !ingest.requireClientCert)
    open.push({
      variable: 'TLS_CLIENT_CA_FILE',
      open: 'set without INGEST_REQUIRE_CLIENT_CERT=true: PORT still takes alerts without a client certificate',
    });
  // A privileged Job is asked for on purpose, yet it is root on a node for whoever can start a run:
  // said at start, so it is not left on unnoticed. Triggers off, no Job is ever installed.
  if (config.triggers.enabled && config.triggers.eventGenerator.privileged)
    open.push({
      variable: 'TRIGGER_EVENT_GENERATOR_PRIVILEGED',
      open: "every event-generator run's Job container is privileged, root on its node, and whoever holds TRIGGER_TOKEN starts one",
    });
  return open;
}
