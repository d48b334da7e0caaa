import { describe, expect, it } from 'vitest';
import { emptyVariables, unknownVariables } from '../../src/config/ignored-variables.js';

describe('unknownVariables', () => {
  // Regression: a misspelt name was ignored without a word, its setting left at the default:
  // VIEWER_TOKENS_FILE left reading open to anyone.
  it('names a misspelt variable of ours and the one probably meant', () => {
    expect(
      unknownVariables({
        VIEWER_TOKENS_FILE: '/etc/falco-alert-receiver/viewer/tokens',
        TRIGGER_ENABLED: 'true',
        STORE_URI: 'redis://redis:6379',
        SHUTDOWN_DELAY: '5000',
        STORE_RETENTION_MS: '86400000',
        TLS_CA_FILE: '/etc/tls/ca.crt',
        METRICS_SCRAPE_INTERVAL: '30s',
      }),
    ).toEqual([
      { variable: 'VIEWER_TOKENS_FILE', suggestion: 'VIEWER_TOKEN_FILE' },
      { variable: 'TRIGGER_ENABLED', suggestion: 'TRIGGERS_ENABLED' },
      { variable: 'STORE_URI', suggestion: 'STORE_URL' },
      { variable: 'SHUTDOWN_DELAY', suggestion: 'SHUTDOWN_DELAY_MS' },
      { variable: 'STORE_RETENTION_MS', suggestion: 'STORE_RETENTION' },
      { variable: 'TLS_CA_FILE', suggestion: 'TLS_CLIENT_CA_FILE' },
      { variable: 'METRICS_SCRAPE_INTERVAL' },
    ]);
  });

  // Regression: PORT (or HOST) shares a word with every such name and came first (STORE_REDIS_PORT=6379
  // was told PORT, which moves the ingest port), TLS_PORT is two
  // letters from TLS_CERT, and a name for a file was told a variable that takes the secret itself:
  // following 'did you mean METRICS_TOKEN?' made the path the token.
  it('suggests the variable sharing most words, and only a _FILE one for a file', () => {
    expect(
      unknownVariables({
        TLS_LISTEN_PORT: '8443',
        ADMIN_HTTP_PORT: '8081',
        TLS_CERT: '/etc/tls/tls.crt',
        METRICS_TOKEN_PATH: '/etc/metrics/token',
        STORE_URL_FILE: '/etc/redis/url',
        STORE_REDIS_PORT: '6379',
      }),
    ).toEqual([
      { variable: 'TLS_LISTEN_PORT', suggestion: 'TLS_PORT' },
      { variable: 'ADMIN_HTTP_PORT', suggestion: 'ADMIN_PORT' },
      { variable: 'TLS_CERT', suggestion: 'TLS_CERT_FILE' },
      { variable: 'METRICS_TOKEN_PATH', suggestion: 'METRICS_TOKEN_FILE' },
      { variable: 'STORE_URL_FILE' },
      { variable: 'STORE_REDIS_PORT' },
    ]);
  });

  // Regression: the variable the cluster primary hands each worker it forks (which TLS files the
  // workers up serve) looks like a setting, and set in the pod it was ignored without a word.
  it('names the variable the cluster primary sets for its workers, which is never read from the pod', () => {
    expect(
      unknownVariables({ FALCO_RECEIVER_WORKERS_SERVE_TLS: 'b5bb9d8014a0f9b1d61e21e796d78dccdf1352f2' }),
    ).toEqual([{ variable: 'FALCO_RECEIVER_WORKERS_SERVE_TLS' }]);
  });

  it("names none of ours, nor other programs' or Kubernetes' Service links", () => {
    expect(
      unknownVariables({
        VIEWER_TOKEN_FILE: '/etc/tokens',
        ADMIN_PORT: '8081',
        WORKERS: '2',
        PATH: '/usr/bin',
        HOSTNAME: 'falco-alert-receiver-5d9c',
        HOST_IP: '10.0.0.3',
        NODE_OPTIONS: '--max-old-space-size=128',
        // Regression: exported by every X11 desktop session, so `npm start` there warned at each start.
        SESSION_MANAGER: 'local/workstation:@/tmp/.ICE-unix/2381,unix/workstation:/tmp/.ICE-unix/2381',
        REDIS_URL: 'redis://redis:6379',
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
        // A Service named store-redis, one named metrics and one named tls in the namespace.
        STORE_REDIS_SERVICE_HOST: '10.96.0.7',
        STORE_REDIS_SERVICE_PORT: '6379',
        STORE_REDIS_SERVICE_PORT_REDIS: '6379',
        STORE_REDIS_PORT: 'tcp://10.96.0.7:6379',
        STORE_REDIS_PORT_6379_TCP: 'tcp://10.96.0.7:6379',
        STORE_REDIS_PORT_6379_TCP_PROTO: 'tcp',
        STORE_REDIS_PORT_6379_TCP_PORT: '6379',
        STORE_REDIS_PORT_6379_TCP_ADDR: '10.96.0.7',
        METRICS_PORT: 'tcp://10.96.0.8:9090',
        TLS_SERVICE_HOST: '10.96.0.9',
      }),
    ).toEqual([]);
  });

  // Regression: VIEWER_TOKEN= (a Secret's key left empty) counted as unset without a word, and
  // reading stayed open to anyone.
  it('names a variable set empty that leaves something open while unset', () => {
    expect(
      emptyVariables({
        VIEWER_TOKEN: '',
        METRICS_TOKEN_FILE: '',
        INGEST_PATH_SECRET: '',
        INGEST_PATH_SECRET_FILE: '/x',
      }),
    ).toEqual([
      { variable: 'VIEWER_TOKEN', open: 'reading stays open to anyone who reaches the port' },
      { variable: 'METRICS_TOKEN_FILE', open: '/metrics stays open' },
    ]);
    expect(emptyVariables({ VIEWER_TOKEN: 'viewer-token-0123456789', STORE_URL: '', PORT: '' })).toEqual([]);
  });
});
