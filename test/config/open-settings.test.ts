import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { openSettings } from '../../src/config/open-settings.js';
import { makeTestPki } from '../helpers/make-certificates.js';

const openOf = (env: Record<string, string>) => {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return openSettings(loaded.config);
};

describe('openSettings', () => {
  // Regression: AUTH_PROXY_CIDRS=0.0.0.0/0 believed the user header from every client, so anyone
  // read by sending X-Forwarded-User, VIEWER_TOKEN or not, without a word at start.
  it('names a proxy trusted from every address', () => {
    expect(
      openOf({
        VIEWER_TOKEN: 'viewer-token-0123456789',
        AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
        AUTH_PROXY_CIDRS: '10.0.0.0/8, 0.0.0.0/0, ::/0',
      }),
    ).toEqual([
      {
        variable: 'AUTH_PROXY_CIDRS',
        open: "0.0.0.0/0, ::/0 trusts every address: any client that sends x-forwarded-user reads as that user, without VIEWER_TOKEN; name the proxy's addresses only",
      },
    ]);
    expect(openOf({ AUTH_PROXY_USER_HEADER: 'X-Forwarded-User', AUTH_PROXY_CIDRS: '10.0.0.0/8' })).toEqual(
      [],
    );
  });

  // Regression: mTLS set up by hand (TLS_CLIENT_CA_FILE) without INGEST_REQUIRE_CLIENT_CERT=true left
  // PORT taking alerts from anyone, without a word.
  it('names a client CA while the plain port still takes alerts without a certificate', async () => {
    const pki = await makeTestPki('falco');
    const tls = {
      TLS_PORT: '8443',
      TLS_CERT_FILE: pki.serverCert,
      TLS_KEY_FILE: pki.serverKey,
      TLS_CLIENT_CA_FILE: pki.caCert,
    };
    expect(openOf(tls)).toEqual([
      {
        variable: 'TLS_CLIENT_CA_FILE',
        open: 'set without INGEST_REQUIRE_CLIENT_CERT=true: PORT still takes alerts without a client certificate',
      },
    ]);
    expect(openOf({ ...tls, INGEST_REQUIRE_CLIENT_CERT: 'true' })).toEqual([]);
  });

  // Regression: METRICS_TOKEN_FILE naming the viewer tokens file gave Prometheus' credential every
  // alert to read, without a word.
  it('names a /metrics token that is also a viewer token', () => {
    const token = 'shared-token-0123456789';
    expect(openOf({ VIEWER_TOKEN: token, METRICS_TOKEN: token })).toEqual([
      {
        variable: 'METRICS_TOKEN',
        open: 'also a viewer token: whatever scrapes /metrics with it reads every alert as well',
      },
    ]);
    expect(openOf({ VIEWER_TOKEN: token, METRICS_TOKEN: 'metrics-token-0123456789' })).toEqual([]);
  });

  // Regression (review): TRIGGER_EVENT_GENERATOR_PRIVILEGED=true gives every run's Job container
  // root on its node, and nothing said so at start, unlike the other settings that leave a door open.
  it('names a privileged event-generator Job while triggers are on', () => {
    const on = { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: 'a-token-of-16-chars-or-more' };
    expect(openOf({ ...on, TRIGGER_EVENT_GENERATOR_PRIVILEGED: 'true' })).toEqual([
      {
        variable: 'TRIGGER_EVENT_GENERATOR_PRIVILEGED',
        open: "every event-generator run's Job container is privileged, root on its node, and whoever holds TRIGGER_TOKEN starts one",
      },
    ]);
    expect(openOf(on)).toEqual([]);
    // Triggers off, no Job is ever installed.
    expect(openOf({ TRIGGER_EVENT_GENERATOR_PRIVILEGED: 'true' })).toEqual([]);
  });
});
