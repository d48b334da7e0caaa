import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load-config.js';

describe('hardening settings in loadConfig', () => {
  it('defaults to strict server limits with TLS, path secret and dedup off', () => {
    const loaded = loadConfig({});

    expect(loaded.ok && loaded.config.hardening).toEqual({
      server: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        stallTimeoutMs: 30_000,
        maxRequestsPerSocket: 0,
        maxHeaderBytes: 16_384,
        maxConnections: 10_000,
        maxConnectionsPerAddress: 256,
      },
      tls: undefined,
      ingest: { requireClientCert: false, pathSecrets: undefined, pathSecretFile: undefined },
      dedup: { windowMs: 0, maxEntries: 10_000 },
      queryMaxBytes: 8 * 1024 * 1024,
      readLimits: {
        maxInflightBytes: 32 * 1024 * 1024,
        maxInflightBytesPerAddress: 8 * 1024 * 1024,
        stallMs: 30_000,
        maxPinnedBytes: 32 * 1024 * 1024,
      },
      inflight: { maxBytes: 64 * 1024 * 1024, maxBytesPerAddress: 16 * 1024 * 1024, maxPerAddress: 32 },
      allowedHosts: [
        'localhost',
        'falco-alert-receiver',
        'falco-alert-receiver.falco',
        'falco-alert-receiver.falco.svc',
        'falco-alert-receiver.falco.svc.cluster.local',
      ],
      streamLimits: {
        maxPerAddress: 10,
        maxClientBufferedBytes: 4 * 1024 * 1024,
        maxBufferedBytes: 32 * 1024 * 1024,
      },
    });
  });

  it('lists ALLOWED_HOSTS lower-cased and refuses a stream client bound above the total', () => {
    const loaded = loadConfig({ ALLOWED_HOSTS: ' Alerts.Example.org , localhost ' });
    const refused = loadConfig({
      STREAM_CLIENT_MAX_BUFFERED_BYTES: '2000',
      STREAM_MAX_BUFFERED_BYTES: '1000',
    });

    expect(loaded.ok && loaded.config.hardening.allowedHosts).toEqual(['alerts.example.org', 'localhost']);
    expect(!refused.ok && refused.problems).toEqual([
      'STREAM_CLIENT_MAX_BUFFERED_BYTES: must not exceed STREAM_MAX_BUFFERED_BYTES',
    ]);
  });

  it.each(['http://alerts.example.org/', 'alerts.example.org:8443', 'bad host', 'a..b'])(
    'refuses %s in ALLOWED_HOSTS, which no Host header would ever match',
    (value) => {
      const refused = loadConfig({ ALLOWED_HOSTS: `localhost,${value}` });
      expect(!refused.ok && refused.problems).toEqual([
        expect.stringMatching(
          /^ALLOWED_HOSTS: .* is not a host name: write names only, such as alerts\.example\.org/,
        ),
      ]);
    },
  );

  it.each([
    [
      "the readers'",
      'QUERY_MAX_INFLIGHT_BYTES',
      (c: Config) => c.hardening.readLimits.maxInflightBytesPerAddress,
    ],
    [
      "the ingest bodies'",
      'INGEST_MAX_INFLIGHT_BYTES',
      (c: Config) => c.hardening.inflight.maxBytesPerAddress,
    ],
  ])(
    'gives one address a quarter of %s budget unless told, and refuses a share above it',
    (_, total, share) => {
      const quarter = loadConfig({ [total]: '8000000' });
      const set = loadConfig({ [`${total}_PER_ADDRESS`]: '3000000' });
      const refused = loadConfig({ [total]: '2000000', [`${total}_PER_ADDRESS`]: '3000000' });

      expect(quarter.ok && share(quarter.config)).toBe(2_000_000);
      expect(set.ok && share(set.config)).toBe(3_000_000);
      expect(!refused.ok && refused.problems).toEqual([`${total}_PER_ADDRESS: must not exceed ${total}`]);
    },
  );

  it('reads the path secret from a mounted file, ignoring its trailing newline', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'path-secret');
    writeFileSync(file, 'abcdefghijklmnopqrstuvwxyz\n');

    const loaded = loadConfig({ INGEST_PATH_SECRET_FILE: file });

    expect(loaded.ok && loaded.config.hardening.ingest).toMatchObject({
      pathSecrets: ['abcdefghijklmnopqrstuvwxyz'],
      pathSecretFile: file,
    });
  });

  it('reads several path secrets from the file, one a line, for a rotation; refuses an empty file or a bad line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'path-secret');
    writeFileSync(
      file,
      'new-secret-0123456789abcdef\n# the old one, until every sensor has the new URL\nabcdefghijklmnopqrstuvwxyz\n',
    );
    const loaded = loadConfig({ INGEST_PATH_SECRET_FILE: file });
    expect(loaded.ok && loaded.config.hardening.ingest.pathSecrets).toEqual([
      'new-secret-0123456789abcdef',
      'abcdefghijklmnopqrstuvwxyz',
    ]);

    writeFileSync(file, '# none yet\n\n');
    expect(loadConfig({ INGEST_PATH_SECRET_FILE: file })).toEqual({
      ok: false,
      problems: [`INGEST_PATH_SECRET_FILE: ${file} holds no secret`],
    });
    writeFileSync(file, 'new-secret-0123456789abcdef\nshort\n');
    expect(loadConfig({ INGEST_PATH_SECRET_FILE: file })).toEqual({
      ok: false,
      problems: ['INGEST_PATH_SECRET_FILE: the secret must be 16-128 characters of A-Z a-z 0-9 _ -'],
    });
  });

  // Regression: the file had no cap, and every alert on the secret path is compared with each line
  // (a SHA-256 each): a file of 100,000 lines made every alert cost a tenth of a second.
  it('takes up to 64 path secrets from the file and refuses a 65th', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'path-secret');
    const secrets = Array.from(
      { length: 65 },
      (_, i) => `path-secret-${String(i).padStart(2, '0')}-0123456789`,
    );
    writeFileSync(file, `${secrets.slice(0, 64).join('\n')}\n`);
    const loaded = loadConfig({ INGEST_PATH_SECRET_FILE: file });
    expect(loaded.ok && loaded.config.hardening.ingest.pathSecrets).toEqual(secrets.slice(0, 64));

    writeFileSync(file, `${secrets.join('\n')}\n`);
    expect(loadConfig({ INGEST_PATH_SECRET_FILE: file })).toEqual({
      ok: false,
      problems: [
        'INGEST_PATH_SECRET_FILE: holds 65 lines, at most 64 (a request presenting one is checked against every line): keep those in use',
      ],
    });
  });

  it('refuses a path secret too short to guess-proof the ingest path', () => {
    const loaded = loadConfig({ INGEST_PATH_SECRET: 'short' });

    expect(!loaded.ok && loaded.problems).toEqual([
      'INGEST_PATH_SECRET: must be 16-128 characters of A-Z a-z 0-9 _ -',
    ]);
  });

  // Regression: TLS_PORT=PORT failed the second listen with a bare EADDRINUSE (exit 1); with
  // WORKERS=2 each worker died of a TypeError in node:cluster (Cannot read properties of null).
  it('refuses a TLS port that is the plain or the admin port', () => {
    const tls = { TLS_CERT_FILE: '/nonexistent/tls.crt', TLS_KEY_FILE: '/nonexistent/tls.key' };
    const problemsOf = (env: Record<string, string>) => {
      const loaded = loadConfig({ ...env, ...tls });
      return loaded.ok ? [] : loaded.problems.filter((problem) => problem.startsWith('TLS_PORT'));
    };
    expect(problemsOf({ PORT: '8080', TLS_PORT: '8080' })).toEqual(['TLS_PORT: must differ from PORT']);
    expect(problemsOf({ TLS_PORT: '8081', ADMIN_PORT: '8081' })).toEqual([
      'TLS_PORT: must differ from ADMIN_PORT',
    ]);
    expect(problemsOf({ PORT: '0', TLS_PORT: '0', ADMIN_PORT: '0' })).toEqual([]);
  });

  it('names the variables when the TLS listener is half configured or client certs lack a CA', () => {
    const loaded = loadConfig({
      TLS_PORT: '8443',
      INGEST_REQUIRE_CLIENT_CERT: 'true',
      SERVER_HEADERS_TIMEOUT_MS: '60000',
    });

    expect(!loaded.ok && loaded.problems).toEqual([
      'SERVER_HEADERS_TIMEOUT_MS: must not exceed SERVER_REQUEST_TIMEOUT_MS',
      'TLS_PORT, TLS_CERT_FILE and TLS_KEY_FILE: set all three to enable the TLS listener',
      'INGEST_REQUIRE_CLIENT_CERT: needs TLS_CLIENT_CA_FILE (and the TLS listener)',
    ]);
  });
});
