import { describe, expect, it } from 'vitest';
import { loadConfig, variableProblems } from '../../src/config/load-config.js';

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    const result = loadConfig({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'info',
      bodyLimitBytes: 1835008,
      store: { maxAlerts: 10000 },
    });
  });

  it('treats an empty variable as unset', () => {
    const result = loadConfig({ PORT: '' });
    expect(result.ok && result.config.port).toBe(8080);
  });

  // Regression: Number(' ') is 0, so PORT=' ' (a stray space in an env file) listened on a random
  // port, ADMIN_PORT=' ' put the dashboard on another, and WORKERS=' ' forked one worker per CPU.
  it('treats a number variable of blanks as unset, as an empty one', () => {
    const result = loadConfig({ PORT: ' ', WORKERS: '\t', ADMIN_PORT: ' \r', TLS_PORT: ' ' });
    expect(
      result.ok && [
        result.config.port,
        result.config.cluster.workers,
        result.config.auth.adminPort,
        result.config.hardening.tls,
      ],
    ).toEqual([8080, 1, undefined, undefined]);
  });

  // Regression: only numbers that may be 0 were: BODY_LIMIT_BYTES=' ' (and every other number that
  // must be positive) was refused as 'Too small: expected number to be >0 (got " ")'.
  it('treats blanks as unset for a number that must be positive too', () => {
    const result = loadConfig({ BODY_LIMIT_BYTES: ' ', SHUTDOWN_TIMEOUT_MS: '\t', QUERY_MAX_BYTES: ' \r' });
    expect(
      result.ok ? [result.config.bodyLimitBytes, result.config.shutdown.timeoutMs] : result.problems,
    ).toEqual([1792 * 1024, 10_000]);
    expect(variableProblems('STORE_MAX_ALERTS', ' ')).toEqual([]);
  });

  it('lists every problem at once', () => {
    const result = loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', BODY_LIMIT_BYTES: '-1' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(3);
    expect(result.problems.join('\n')).toMatch(/PORT/);
    expect(result.problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(result.problems.join('\n')).toMatch(/BODY_LIMIT_BYTES/);
  });

  // Regression: Node fires a timer longer than 2^31 - 1 ms after 1 ms, so a verify window of
  // 2147483648 ended at once, while the run was still going, and left it pending for good.
  it('refuses a duration longer than the longest timer Node keeps, naming the variable', () => {
    const tooLong = String(2 ** 31);
    const result = loadConfig({
      TRIGGER_VERIFY_WINDOW_MS: tooLong,
      TRIGGER_COMMAND_TIMEOUT_MS: tooLong,
      SHUTDOWN_TIMEOUT_MS: tooLong,
      AUTH_FAILURE_WINDOW_SECONDS: String(Math.ceil(2 ** 31 / 1000)),
      TRIGGER_CANARY_INTERVAL_MINUTES: '24000',
    });
    const problems = !result.ok ? result.problems.join('\n') : '';
    for (const name of [
      'TRIGGER_VERIFY_WINDOW_MS',
      'TRIGGER_COMMAND_TIMEOUT_MS',
      'SHUTDOWN_TIMEOUT_MS',
      'AUTH_FAILURE_WINDOW_SECONDS',
      'TRIGGER_CANARY_INTERVAL_MINUTES',
    ])
      expect(problems).toMatch(
        new RegExp(`^${name}: must be a (whole )?number from [.0-9]+ to [0-9]+ \\(`, 'm'),
      );
    expect(loadConfig({ TRIGGER_VERIFY_WINDOW_MS: String(2 ** 31 - 1) }).ok).toBe(true);
  });

  // Regression: TRIGGER_TOKEN with the newline `echo` leaves in a Secret started the service, and
  // then every call got 401: a bearer token is one word.
  it('drops whitespace around a token and refuses one with a space inside', () => {
    const token = 'tttttttttttttttttttttttt';
    const viewer = 'vvvvvvvvvvvvvvvvvvvvvvvv';
    const trimmed = loadConfig({
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: `${token}\n`,
      VIEWER_TOKEN: ` ${viewer} `,
    });
    expect(trimmed.ok && [trimmed.config.triggers.token, trimmed.config.auth.viewerTokens]).toEqual([
      token,
      [viewer],
    ]);
    const spaced = loadConfig({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: 'two words of a token' });
    expect(!spaced.ok && spaced.problems.join('\n')).toMatch(/^TRIGGER_TOKEN: must be one word/m);
  });

  // Regression: a TLS file that was not there passed the configuration and failed the listen with a
  // bare ENOENT (exit 1), not listed with the other problems (exit 2).
  it('lists a TLS file it cannot read with every other problem', () => {
    const result = loadConfig({
      TLS_PORT: '8443',
      TLS_CERT_FILE: '/nonexistent/tls.crt',
      TLS_KEY_FILE: '/nonexistent/tls.key',
      PORT: 'eighty',
    });
    expect(!result.ok && result.problems).toEqual(
      expect.arrayContaining([
        'TLS_CERT_FILE: cannot read /nonexistent/tls.crt (ENOENT)',
        'TLS_KEY_FILE: cannot read /nonexistent/tls.key (ENOENT)',
        'PORT: must be a number, written in digits (got "eighty")',
      ]),
    );
  });

  it('says what a number variable was given and the form it needs', () => {
    const result = loadConfig({ PORT: 'eighty', BODY_LIMIT_BYTES: '1MB' });
    expect(!result.ok && result.problems).toEqual([
      'PORT: must be a number, written in digits (got "eighty")',
      'BODY_LIMIT_BYTES: must be a number, written in digits (got "1MB")',
    ]);
  });

  // Regression: TRIGGERS_ENABLED=yes, True, or "true" from an env file that keeps its quotes said
  // only 'Invalid option: expected one of "0"|"1"|"true"|"false"', not what it had been given.
  it('says what a choice was given, and that quotes are part of a value', () => {
    const result = loadConfig({
      PORT: "'8080'",
      LOG_LEVEL: 'INFO',
      TRIGGERS_ENABLED: 'yes',
      INGEST_REQUIRE_CLIENT_CERT: 'true\r',
      SESSION_COOKIE_SECURE: '"true"',
      STORE_KEY_PREFIX: '"receivers"',
    });
    const quotes =
      '; the quotes are part of the value (an env file or a ConfigMap made from one keeps them): write it without';
    expect(!result.ok && result.problems).toEqual([
      `PORT: must be a number, written in digits (got "'8080'")${quotes}`,
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "INFO")',
      'TRIGGERS_ENABLED: must be one of 0, 1, true, false (got "yes")',
      'INGEST_REQUIRE_CLIENT_CERT: must be one of 0, 1, true, false (got "true\\r")',
      `STORE_KEY_PREFIX: must be 1-64 of A-Z a-z 0-9 . _ - :${quotes}`,
      `SESSION_COOKIE_SECURE: must be one of auto, true, false (got "\\"true\\"")${quotes}`,
    ]);
  });

  // Regression: with enableServiceLinks on (Kubernetes' default), a Service named admin in the
  // namespace set ADMIN_PORT=tcp://10.96.0.5:8081 in the pod, refused as a number without saying where
  // it came from: the operator had set no ADMIN_PORT.
  it('says a port variable holds what Kubernetes sets for a Service of that name', () => {
    const result = loadConfig({ ADMIN_PORT: 'tcp://10.96.0.5:8081', TLS_PORT: 'tcp://10.96.0.6:443' });
    expect(!result.ok && result.problems).toEqual([
      `TLS_PORT: must be a number, written in digits (got "tcp://10.96.0.6:443"); Kubernetes sets it so for the Service named tls in the namespace: set the pod's enableServiceLinks: false, or set TLS_PORT yourself`,
      `ADMIN_PORT: must be a number, written in digits (got "tcp://10.96.0.5:8081"); Kubernetes sets it so for the Service named admin in the namespace: set the pod's enableServiceLinks: false, or set ADMIN_PORT yourself`,
    ]);
  });

  // Regression: a number out of range or with a fraction was refused without the value given.
  it('says what a number out of range was given', () => {
    const result = loadConfig({ STORE_MAX_ALERTS: '-5', BODY_LIMIT_BYTES: '1.5', PORT: '80800' });
    expect(!result.ok && result.problems).toEqual([
      expect.stringMatching(/^PORT: .* \(got "80800"\)$/),
      expect.stringMatching(/^BODY_LIMIT_BYTES: .* \(got "1.5"\)$/),
      expect.stringMatching(/^STORE_MAX_ALERTS: .* \(got "-5"\)$/),
    ]);
  });

  it('derives Prometheus label names for extra output_fields labels', () => {
    const result = loadConfig({ METRICS_EXTRA_LABELS: 'k8s.ns.name, container.image.repository' });
    expect(result.ok && result.config.metrics.extraLabels).toEqual([
      { field: 'k8s.ns.name', label: 'k8s_ns_name' },
      { field: 'container.image.repository', label: 'container_image_repository' },
    ]);
  });

  it('refuses extra labels that collide with built-in or reserved names', () => {
    const result = loadConfig({ METRICS_EXTRA_LABELS: 'rule,__name' });
    expect(result.ok ? [] : result.problems).toHaveLength(2);
  });

  it('refuses two fields that map to the same label name', () => {
    const result = loadConfig({ METRICS_EXTRA_LABELS: 'a.b,a_b' });
    expect(result.ok ? [] : result.problems.join()).toMatch(/a_b maps to label a_b/);
  });

  it('reports a missing trigger token alongside other invalid variables', () => {
    const result = loadConfig({ PORT: 'abc', TRIGGERS_ENABLED: 'true' });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^PORT/),
      expect.stringMatching(/^TRIGGER_TOKEN/),
    ]);
  });

  // Regression: a variable zod refused hid every cross-variable and file problem, so each start
  // showed one more (README: "an invalid value lists every problem").
  it('lists cross-variable and file problems beside a variable it refused', () => {
    const result = loadConfig({
      LOG_LEVEL: 'loud',
      VIEWER_TOKEN_FILE: '/nonexistent/tokens',
      STORE_SENTINELS: '127.0.0.1:26379',
      SERVER_HEADERS_TIMEOUT_MS: '40000',
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^LOG_LEVEL/),
      expect.stringMatching(/^STORE_SENTINELS and STORE_SENTINEL_MASTER/),
      expect.stringMatching(/^SERVER_HEADERS_TIMEOUT_MS: must not exceed SERVER_REQUEST_TIMEOUT_MS/),
      expect.stringMatching(/^VIEWER_TOKEN_FILE: cannot read/),
    ]);
  });

  it('does not judge a refused variable by its default in a cross-variable check', () => {
    const result = loadConfig({ BODY_LIMIT_BYTES: 'big', INGEST_MAX_INFLIGHT_BYTES: '1000' });
    expect(result.ok ? [] : result.problems).toEqual([expect.stringMatching(/^BODY_LIMIT_BYTES/)]);
  });

  // Regression: with STORE_URL refused, the triggers check judged its default (the in-memory store)
  // and said triggers need a Redis store, to a user who had set one, mistyped.
  it.each([
    { STORE_URL: 'redis//typo:6379' },
    { STORE_SENTINELS: 'no-port', STORE_SENTINEL_MASTER: 'mymaster' },
  ])('does not judge a refused store variable by its default in the triggers check (%o)', (store) => {
    const result = loadConfig({
      ...store,
      WORKERS: '2',
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: 'a-trigger-token-long-enough',
    });
    expect(result.ok ? [] : result.problems).not.toContainEqual(expect.stringMatching(/^TRIGGERS_ENABLED/));
    expect(result.ok ? [] : result.problems).toContainEqual(expect.stringMatching(/^STORE_/));
  });

  // Regression: HOST=[::] (as a URL writes it) failed to start: getaddrinfo ENOTFOUND [::].
  it('takes an IPv6 HOST in brackets as the address', () => {
    const hosts = ['[::]', '[fd00::1]', '::1', '0.0.0.0'].map((HOST) => {
      const loaded = loadConfig({ HOST });
      return loaded.ok ? loaded.config.host : loaded.problems;
    });
    expect(hosts).toEqual(['::', 'fd00::1', '::1', '0.0.0.0']);
  });

  it('refuses a blank HOST', () => {
    expect(loadConfig({ HOST: '  ' }).ok).toBe(false);
  });

  // Regression: HOST="0.0.0.0" (the quotes an env file keeps) or 0.0.0.0:8080 passed, and the
  // listen failed with a bare 'getaddrinfo ENOTFOUND' (exit 1), naming no variable.
  it('refuses a HOST that is not an address or a host name, saying the form wanted', () => {
    const wanted =
      'HOST: must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name, without scheme or port (an IPv6 address may be in brackets)';
    for (const host of ['0.0.0.0:8080', 'http://0.0.0.0', '[0.0.0.0]', '[receiver]', '[::]:8080'])
      expect(loadConfig({ HOST: host }), host).toEqual({ ok: false, problems: [wanted] });
    expect(loadConfig({ HOST: '"0.0.0.0"' })).toEqual({
      ok: false,
      problems: [
        `${wanted}; the quotes are part of the value (an env file or a ConfigMap made from one keeps them): write it without`,
      ],
    });
    for (const host of ['0.0.0.0', '::', '::1', 'localhost', 'LOCALHOST', 'receiver.falco.svc'])
      expect(loadConfig({ HOST: host }).ok, host).toBe(true);
  });
});
