import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkReceiverEnv } from '../../src/deploy/receiver-env.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { K8S_DIR, renderKustomize } from '../integration/support/kustomize.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));

// As `kubectl kustomize` renders a receiver.env edited by hand: kustomize drops the carriage returns
// of CRLF lines but keeps quotes.
const rendered = (data: string, env = '') => `apiVersion: v1
kind: ConfigMap
metadata: { name: falco-alert-receiver-env-5h7k9, namespace: falco }
data:
${data}
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: falco-alert-receiver, namespace: falco }
spec:
  template:
    spec:
      containers:
        - name: receiver
          envFrom:
            - configMapRef: { name: falco-alert-receiver-env-5h7k9 }
          env:
            - name: VIEWER_TOKEN_FILE
              value: /etc/falco-alert-receiver/viewer/tokens
            - name: TRIGGER_TOKEN
              valueFrom: { secretKeyRef: { name: falco-alert-receiver-triggers, key: token } }
${env}`;

// More of the receiver's env entries: literal values, and variables set from a Secret.
const lines = (...items: string[]) => items.map((line) => `            ${line}\n`).join('');
const literal = (vars: Record<string, string>) =>
  Object.entries(vars)
    .map(([name, value]) => lines(`- name: ${name}`, `  value: ${JSON.stringify(value)}`))
    .join('');
const fromSecret = (...names: string[]) =>
  names
    .map((name) =>
      lines(`- name: ${name}`, `  valueFrom: { secretKeyRef: { name: receiver-extra, key: ${name} } }`),
    )
    .join('');
// A Secret the manifests hold (a kustomize secretGenerator's), its values as `data` writes them.
const secret = (name: string, data: Record<string, string>) => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: falco }
data:
${Object.entries(data)
  .map(([key, value]) => `  ${key}: "${Buffer.from(value).toString('base64')}"`)
  .join('\n')}
---
`;
const TOKEN = 'a-token-to-start-runs-0123';
const sentinels = { STORE_SENTINELS: 'sentinel-0:26379', STORE_SENTINEL_MASTER: 'mymaster' };
const sessionFile = { SESSION_SECRET_FILE: '/etc/falco-alert-receiver/session/secret' };

describe('checkReceiverEnv', () => {
  // Regression: npm run deploy applied settings the receiver refuses; its pod exited 2 at each
  // start and the deploy only failed when the rollout timed out, minutes later.
  it('says each value the receiver would refuse, and each name it does not read', () => {
    const check = checkReceiverEnv(
      rendered(
        `  PORT: "8080"\n  TRIGGERS_ENABLED: '"true"'\n  SHUTDOWN_TIMEOUT_MS: 10s\n  VIEWER_TOKENS_FILE: /x`,
        '            - name: STORE_RETENTION\n              value: "24"\n',
      ),
    );
    expect(check).toEqual({
      problems: [
        'TRIGGERS_ENABLED: must be one of 0, 1, true, false (got "\\"true\\""); the quotes are part of the value (an env file or a ConfigMap made from one keeps them): write it without',
        'SHUTDOWN_TIMEOUT_MS: must be a number, written in digits (got "10s")',
        'STORE_RETENTION: must be a duration of at least 1m, like 90s, 30m, 24h or 7d',
      ],
      unknown: ['VIEWER_TOKENS_FILE is not a variable the receiver reads: did you mean VIEWER_TOKEN_FILE?'],
    });
  });

  it('takes what the receiver takes, leaving values from Secrets and the files named to its start', () => {
    expect(
      checkReceiverEnv(rendered(`  PORT: "8080"\n  TRIGGERS_ENABLED: "true"\n  SHUTDOWN_DELAY_MS: ""`)),
    ).toEqual({ problems: [], unknown: [] });
    // Regression: HOST=$(POD_IP) (the downward API's address, which the kubelet puts in its place)
    // was refused as 'HOST: must be an IP address ...', and npm run deploy stopped.
    expect(
      checkReceiverEnv(
        rendered(
          `  ADMIN_PORT: "8081"`,
          lines(
            '- name: POD_IP',
            '  valueFrom: { fieldRef: { fieldPath: status.podIP } }',
            '- name: HOST',
            '  value: $(POD_IP)',
            '- name: ALLOWED_HOSTS',
            '  value: localhost,$(POD_IP)',
          ),
        ),
      ),
    ).toEqual({ problems: [], unknown: [] });
    // A reference to a value the manifests hold is checked as the kubelet expands it; $$ is a $.
    expect(
      checkReceiverEnv(
        rendered(
          `  TIMEOUT: 10s`,
          lines('- name: SHUTDOWN_TIMEOUT_MS', '  value: $(TIMEOUT)', '- name: PORT', "  value: '$$(PORT)'"),
        ),
      ).problems,
    ).toEqual([
      'SHUTDOWN_TIMEOUT_MS: must be a number, written in digits (got "10s")',
      'PORT: must be a number, written in digits (got "$(PORT)")',
    ]);
    expect(checkReceiverEnv('apiVersion: v1\nkind: Service\nmetadata: { name: other }\n')).toEqual({
      problems: [],
      unknown: [],
    });
  });

  it('refuses text that is not YAML instead of reading the part of it that parses', () => {
    // The receiver's ConfigMap with a line indented one space short: read in part, no problem was found.
    const broken = rendered('  LOG_LEVEL: loud\n STORE_URL: memory');

    expect(() => checkReceiverEnv(broken)).toThrow(/not YAML .*: BAD_INDENT at line 6, column 1/);
  });
});

// Regression: each value was checked on its own, so settings the receiver refuses together (exit 2
// at each start) passed npm run deploy, and the rollout only timed out, 300 s later.
describe('checkReceiverEnv, the variables together', () => {
  // The fixture's receiver reads VIEWER_TOKEN_FILE and has TRIGGER_TOKEN from a Secret.
  it.each([
    [
      { STORE_USERNAME: 'falco' },
      [
        'STORE_USERNAME: is for STORE_SENTINELS only (with STORE_URL the URL names the user: redis://USER@host:6379)',
      ],
    ],
    [
      { STORE_SENTINELS: 'sentinel-0:26379' },
      ['STORE_SENTINELS and STORE_SENTINEL_MASTER: set both to use Sentinel'],
    ],
    [
      { STORE_URL: 'redis://redis.falco.svc:6379', ...sentinels },
      [
        'STORE_URL and STORE_SENTINELS: set only one (through Sentinel the user is STORE_USERNAME, the password STORE_PASSWORD_FILE)',
      ],
    ],
    [
      { STORE_PASSWORD_FILE: '/etc/falco-alert-receiver/store/password' },
      ['STORE_PASSWORD_FILE: needs STORE_URL=redis://... or STORE_SENTINELS'],
    ],
    [
      { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: '/etc/falco-alert-receiver/triggers/token' },
      ['TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one'],
    ],
    [
      { TRIGGERS_ENABLED: 'true', WORKERS: '2' },
      [
        "TRIGGERS_ENABLED: triggers need WORKERS=1 or a Redis store, STORE_URL or STORE_SENTINELS (verification reads one process's alerts)",
        'SESSION_SECRET: required with VIEWER_TOKEN when WORKERS is not 1 or replicas share a store (STORE_URL, STORE_SENTINELS)',
      ],
    ],
    [
      { PORT: '8443', TLS_PORT: '8443', INGEST_REQUIRE_CLIENT_CERT: 'true' },
      [
        'TLS_PORT: must differ from PORT',
        'TLS_PORT, TLS_CERT_FILE and TLS_KEY_FILE: set all three to enable the TLS listener',
        'INGEST_REQUIRE_CLIENT_CERT: needs TLS_CLIENT_CA_FILE (and the TLS listener)',
      ],
    ],
    [
      { SERVER_HEADERS_TIMEOUT_MS: '60000', INGEST_MAX_INFLIGHT_BYTES: '1024', ADMIN_PORT: '8080' },
      [
        'INGEST_MAX_INFLIGHT_BYTES: must be at least BODY_LIMIT_BYTES (one body must fit)',
        'SERVER_HEADERS_TIMEOUT_MS: must not exceed SERVER_REQUEST_TIMEOUT_MS',
        'ADMIN_PORT: must differ from PORT',
      ],
    ],
    [
      { AUTH_PROXY_USER_HEADER: 'X-Forwarded-User' },
      [
        'AUTH_PROXY_USER_HEADER and AUTH_PROXY_CIDRS: set both (the header is trusted only from those addresses)',
      ],
    ],
    [
      { AUTH_PROXY_USER_HEADER: 'X-Forwarded-User', AUTH_PROXY_CIDRS: '10.0.0.0/33' },
      ['AUTH_PROXY_CIDRS: "10.0.0.0/33" is not an address or CIDR'],
    ],
    // As at start, what is said of a variable refused on its own is not said again of its default.
    [
      { STORE_SENTINELS: 'sentinel-0', STORE_USERNAME: 'falco' },
      ['STORE_SENTINELS: sentinel-0 is not host:port'],
    ],
  ])('refuses %j as the receiver does at start', (vars, problems) => {
    expect(checkReceiverEnv(rendered('  LOG_LEVEL: info', literal(vars))).problems).toEqual(problems);
  });

  it('counts a variable set from a Secret as set, whatever its value', () => {
    const check = checkReceiverEnv(
      rendered(
        '  LOG_LEVEL: info',
        literal({ INGEST_PATH_SECRET_FILE: '/etc/falco-alert-receiver/ingest-path/secret' }) +
          fromSecret('INGEST_PATH_SECRET', 'VIEWER_TOKEN'),
      ),
    );
    expect(check.problems).toEqual([
      'INGEST_PATH_SECRET and INGEST_PATH_SECRET_FILE: set only one',
      'VIEWER_TOKEN and VIEWER_TOKEN_FILE: set only one',
    ]);
  });

  // A Secret's value is not known before the start: what it could clear is left to the start.
  it.each([
    [
      'STORE_SENTINEL_MASTER from a Secret',
      { STORE_SENTINELS: 'sentinel-0:26379', ...sessionFile },
      ['STORE_SENTINEL_MASTER'],
    ],
    [
      'STORE_SENTINELS from a Secret',
      { STORE_SENTINEL_MASTER: 'mymaster', STORE_USERNAME: 'falco', ...sessionFile },
      ['STORE_SENTINELS'],
    ],
    // Its URL may be memory, as much as a Redis the password goes with.
    ['STORE_URL from a Secret', { STORE_PASSWORD_FILE: '/etc/store/password' }, ['STORE_URL']],
    ['STORE_URL from a Secret beside Sentinel', { ...sentinels, ...sessionFile }, ['STORE_URL']],
    ['SESSION_SECRET from a Secret', { WORKERS: '2' }, ['SESSION_SECRET']],
    ['TRIGGERS_ENABLED from a Secret', { WORKERS: '2', ...sessionFile }, ['TRIGGERS_ENABLED']],
    ['AUTH_PROXY_CIDRS from a Secret', { AUTH_PROXY_USER_HEADER: 'X-Forwarded-User' }, ['AUTH_PROXY_CIDRS']],
    ['TLS_KEY_FILE from a Secret', { TLS_PORT: '8443', TLS_CERT_FILE: '/etc/tls/tls.crt' }, ['TLS_KEY_FILE']],
    ['PORT from a Secret', { ADMIN_PORT: '8080' }, ['PORT']],
  ])('takes %s as the counterpart it may be', (_, vars, secrets) => {
    expect(checkReceiverEnv(rendered('  LOG_LEVEL: info', literal(vars) + fromSecret(...secrets)))).toEqual({
      problems: [],
      unknown: [],
    });
  });

  it("leaves to the start what a Secret's keys taken whole, or the pod's CPUs, could clear", () => {
    const withSecretKeys = rendered(
      '  STORE_SENTINELS: sentinel-0:26379',
      literal({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: '/etc/triggers/token' }),
    ).replace('envFrom:\n', 'envFrom:\n            - secretRef: { name: receiver-extra }\n');
    // TRIGGER_TOKEN is named twice all the same: that is said.
    expect(checkReceiverEnv(withSecretKeys).problems).toEqual([
      'TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one',
    ]);
    // WORKERS=0 is one worker per CPU of the node the pod lands on: one, or several.
    expect(checkReceiverEnv(rendered('  WORKERS: "0"')).problems).toEqual([]);
  });

  // Regression: a Secret's keys taken whole after the ConfigMap replace its values, but those were
  // checked as the ones the receiver gets: a ConfigMap's placeholder for a value the Secret holds
  // stopped npm run deploy of settings the receiver starts with.
  it("leaves to the start the values a later Secret's keys may replace", () => {
    const check = checkReceiverEnv(
      rendered('  STORE_URL: in the Secret\n  LOG_LEVEL: info').replace(
        '            - configMapRef: { name: falco-alert-receiver-env-5h7k9 }\n',
        '            - configMapRef: { name: falco-alert-receiver-env-5h7k9 }\n            - secretRef: { name: receiver-extra }\n',
      ),
    );

    expect(check).toEqual({ problems: [], unknown: [] });
  });

  // Regression: a key marked optional that the Secret does not hold leaves the variable unset, but it
  // was counted as set: STORE_USERNAME from an optional key beside STORE_URL stopped npm run deploy.
  it('takes a variable from an optional key as set or not', () => {
    const optional = (name: string) =>
      lines(
        `- name: ${name}`,
        `  valueFrom: { secretKeyRef: { name: receiver-extra, key: ${name}, optional: true } }`,
      );
    const check = checkReceiverEnv(
      rendered(
        '  LOG_LEVEL: info',
        literal({ STORE_URL: 'redis://redis.falco.svc:6379', ...sessionFile }) +
          optional('STORE_USERNAME') +
          optional('VIEWER_TOKEN'),
      ),
    );

    expect(check).toEqual({ problems: [], unknown: [] });
  });
});

// Regression: a variable from a key of a Secret the manifests hold counted as set, whatever it held;
// the receiver takes an empty value as unset, so VIEWER_TOKEN= from one beside VIEWER_TOKEN_FILE
// stopped npm run deploy with 'set only one' (found in a read-through).
describe('checkReceiverEnv, values of a Secret the manifests hold', () => {
  it('takes an empty value as unset, as the receiver does', () => {
    const check = checkReceiverEnv(
      secret('receiver-extra', { VIEWER_TOKEN: '', INGEST_PATH_SECRET: '' }) +
        rendered(
          '  LOG_LEVEL: info',
          literal({ INGEST_PATH_SECRET_FILE: '/etc/falco-alert-receiver/ingest-path/secret' }) +
            fromSecret('VIEWER_TOKEN', 'INGEST_PATH_SECRET'),
        ),
    );

    expect(check).toEqual({ problems: [], unknown: [] });
  });

  it('checks a value it holds as the receiver does, and keeps one of a Secret it does not hold as set', () => {
    const check = checkReceiverEnv(
      secret('receiver-extra', { VIEWER_TOKEN: 'short', PORT: '' }) +
        rendered(
          '  LOG_LEVEL: info',
          literal({
            ADMIN_PORT: '8080',
            TRIGGERS_ENABLED: 'true',
            TRIGGER_TOKEN_FILE: '/etc/triggers/token',
          }) + fromSecret('VIEWER_TOKEN', 'PORT'),
        ),
    );

    // TRIGGER_TOKEN is from Secret falco-alert-receiver-triggers, which the manifests do not hold.
    expect(check.problems).toEqual([
      'VIEWER_TOKEN: must be at least 16 characters',
      'TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one',
      'ADMIN_PORT: must differ from PORT',
    ]);
  });

  it("takes a Secret's keys taken whole as known, an empty one unset", () => {
    const check = checkReceiverEnv(
      secret('receiver-extra', { VIEWER_TOKEN: '', WORKERS: '2' }) +
        rendered('  LOG_LEVEL: info').replace(
          'envFrom:\n',
          'envFrom:\n            - secretRef: { name: receiver-extra }\n',
        ),
    );

    // VIEWER_TOKEN_FILE alone, with WORKERS=2 and no session key: no other variable may be set.
    expect(check.problems).toEqual([
      'SESSION_SECRET: required with VIEWER_TOKEN when WORKERS is not 1 or replicas share a store (STORE_URL, STORE_SENTINELS)',
    ]);
  });

  it('reads a key of a ConfigMap it holds too, and passes over a key marked optional that its object lacks', () => {
    const keyRef = (name: string, ref: string) => lines(`- name: ${name}`, `  valueFrom: { ${ref} }`);
    const check = (data: Record<string, string>) =>
      checkReceiverEnv(
        secret('receiver-extra', { STORE_URL: 'redis://redis.falco.svc:6379', ...data }) +
          rendered(
            '  LOG_LEVEL: info\n  TIMEOUT: 10s',
            literal({ STORE_USERNAME: 'falco', ...sessionFile }) +
              keyRef('STORE_URL', 'secretKeyRef: { name: receiver-extra, key: STORE_URL }') +
              keyRef('STORE_USERNAME', 'secretKeyRef: { name: receiver-extra, key: user, optional: true }') +
              keyRef(
                'SHUTDOWN_TIMEOUT_MS',
                'configMapKeyRef: { name: falco-alert-receiver-env-5h7k9, key: TIMEOUT }',
              ),
          ),
      ).problems;
    const timeout = 'SHUTDOWN_TIMEOUT_MS: must be a number, written in digits (got "10s")';

    // Without the key, STORE_USERNAME keeps the value set before it.
    expect(check({})).toEqual([
      timeout,
      'STORE_USERNAME: is for STORE_SENTINELS only (with STORE_URL the URL names the user: redis://USER@host:6379)',
    ]);
    expect(check({ user: '' })).toEqual([timeout]);
  });

  // Regression: a key the manifests' own Secret or ConfigMap lacks was taken as set to a value not
  // known here, and the deploy went on to a pod the kubelet never starts (CreateContainerConfigError).
  it('says a key that a Secret or ConfigMap it holds lacks, unless the key is optional', () => {
    const keyRef = (name: string, ref: string) => lines(`- name: ${name}`, `  valueFrom: { ${ref} }`);
    const check = checkReceiverEnv(
      secret('receiver-extra', { STORE_URL: 'redis://redis.falco.svc:6379' }) +
        rendered(
          '  LOG_LEVEL: info',
          literal(sessionFile) +
            keyRef('STORE_PASSWORD', 'secretKeyRef: { name: receiver-extra, key: password }') +
            keyRef(
              'SHUTDOWN_TIMEOUT_MS',
              'configMapKeyRef: { name: falco-alert-receiver-env-5h7k9, key: T }',
            ) +
            keyRef('STORE_USERNAME', 'secretKeyRef: { name: receiver-extra, key: user, optional: true }') +
            keyRef('METRICS_TOKEN', 'secretKeyRef: { name: not-in-the-manifests, key: token }'),
        ),
    );

    expect(check.problems).toEqual([
      'STORE_PASSWORD: the Secret receiver-extra has no key password, so the pod would not start (CreateContainerConfigError)',
      'SHUTDOWN_TIMEOUT_MS: the ConfigMap falco-alert-receiver-env-5h7k9 has no key T, so the pod would not start (CreateContainerConfigError)',
    ]);
  });

  // A trigger token equal to a viewer or /metrics token is refused at start; from a Secret the
  // manifests do not hold it is not known, and nothing is said.
  it('refuses a trigger token that is also a /metrics token, where it sees both', () => {
    const env = literal({ TRIGGERS_ENABLED: 'true', METRICS_TOKEN: TOKEN });
    const clash =
      'TRIGGER_TOKEN: must differ from every /metrics token (METRICS_TOKEN, METRICS_TOKEN_FILE): it also starts trigger runs, so whatever scrapes could';

    expect(checkReceiverEnv(rendered('  LOG_LEVEL: info', env)).problems).toEqual([]);
    expect(
      checkReceiverEnv(
        secret('falco-alert-receiver-triggers', { token: `${TOKEN}\n` }) + rendered('  LOG_LEVEL: info', env),
      ).problems,
    ).toEqual([clash]);
    expect(
      checkReceiverEnv(rendered('  LOG_LEVEL: info', env + literal({ TRIGGER_TOKEN: TOKEN }))).problems,
    ).toEqual([clash]);
  });
});

// Regression: once the check read the Secrets the manifests hold, a problem quoted a value as it
// quotes a ConfigMap's, and npm run deploy printed a Secret's key set to the wrong variable (a
// session key as SESSION_COOKIE_SECURE) to the terminal or CI log (found in a review).
describe("checkReceiverEnv, what it says of a Secret's values", () => {
  it('says what the receiver refuses in a value from a Secret, never the value', () => {
    const values = {
      SESSION_COOKIE_SECURE: 'hunter2-cookie-key',
      SHUTDOWN_TIMEOUT_MS: 'hunter2-ms',
      STORE_MAX_ALERTS: '-52',
      TRIGGER_ALLOWED_NAMESPACES: 'Hunter2_NS',
      AUTH_PROXY_CIDRS: 'hunter2.cidr',
    };
    const check = checkReceiverEnv(
      secret('receiver-extra', values) +
        secret('receiver-whole', { LOG_LEVEL: 'hunter2-level' }) +
        rendered(
          '  LOG_LEVEL: info',
          fromSecret(...Object.keys(values)) +
            literal({ AUTH_PROXY_USER_HEADER: 'x-user', PORT: '$(SHUTDOWN_TIMEOUT_MS)' }),
        ).replace(
          '- configMapRef: { name: falco-alert-receiver-env-5h7k9 }\n',
          '- configMapRef: { name: falco-alert-receiver-env-5h7k9 }\n            - secretRef: { name: receiver-whole }\n',
        ),
    );

    // PORT is $(SHUTDOWN_TIMEOUT_MS): a Secret's value too.
    const notShown = 'its value, from a Secret, is not shown';
    expect(check.problems).toEqual([
      `LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (${notShown})`,
      `SESSION_COOKIE_SECURE: must be one of auto, true, false (${notShown})`,
      `SHUTDOWN_TIMEOUT_MS: must be a number, written in digits (${notShown})`,
      `STORE_MAX_ALERTS: must be a whole number of at least 1 (${notShown})`,
      `TRIGGER_ALLOWED_NAMESPACES: is refused at start (${notShown}, nor the reason, which may quote it)`,
      `PORT: must be a number, written in digits (${notShown})`,
      `AUTH_PROXY_CIDRS: an item is not an address or CIDR (${notShown})`,
    ]);
    expect(check.problems.join('\n')).not.toMatch(/hunter2|52/i);
  });

  it('still quotes a value of a ConfigMap or a literal, as the receiver does', () => {
    const check = checkReceiverEnv(
      secret('receiver-extra', { SHUTDOWN_TIMEOUT_MS: 'hunter2-ms' }) +
        rendered(
          '  LOG_LEVEL: loud',
          fromSecret('SHUTDOWN_TIMEOUT_MS') + literal({ SHUTDOWN_TIMEOUT_MS: '10s' }),
        ),
    );

    expect(check.problems).toEqual([
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'SHUTDOWN_TIMEOUT_MS: must be a number, written in digits (got "10s")',
    ]);
  });
});

// Regression: a Secret or ConfigMap was found by its name alone, so one of that name in another
// namespace of the manifests (they name their namespaces: k8s/components/triggers keeps its Role in
// falco-canary) was read as the one the pod reads, and its values stopped npm run deploy.
describe('checkReceiverEnv, the namespace of what it reads', () => {
  const elsewhere = (yaml: string) => yaml.replace('namespace: falco }', 'namespace: falco-canary }');

  it("reads only the Secrets and ConfigMaps of the Deployment's namespace", () => {
    const check = checkReceiverEnv(
      elsewhere(secret('receiver-extra', { SESSION_SECRET: 'short' })) +
        rendered('  LOG_LEVEL: info', fromSecret('SESSION_SECRET')),
    );

    // SESSION_SECRET is set, from a Secret the manifests do not hold: its value is the start's to check.
    expect(check).toEqual({ problems: [], unknown: [] });
    expect(
      checkReceiverEnv(
        secret('receiver-extra', { SESSION_SECRET: 'short' }) +
          rendered('  LOG_LEVEL: info', fromSecret('SESSION_SECRET')),
      ).problems,
    ).toEqual(['SESSION_SECRET: must be at least 32 characters']);
  });

  it('takes an object without a namespace as in the namespace npm run deploy was given', () => {
    const unnamed = (yaml: string) => yaml.replace(', namespace: falco }', ' }');
    const yaml =
      unnamed(secret('receiver-extra', { SESSION_SECRET: 'short' })) +
      rendered('  LOG_LEVEL: info', fromSecret('SESSION_SECRET'));

    expect(checkReceiverEnv(yaml, 'falco').problems).toEqual([
      'SESSION_SECRET: must be at least 32 characters',
    ]);
    expect(checkReceiverEnv(yaml, 'elsewhere').problems).toEqual([]);
  });
});

describe.skipIf(!kubectlReady)('checkReceiverEnv on the shipped manifests', () => {
  // Their Secrets (the store URL, the session key) are the counterparts of what the ConfigMap sets.
  it.each([[[]], [['redis-store', 'triggers']], [['mtls', 'path-secret', 'redis-store', 'triggers']]])(
    'finds nothing the receiver would refuse in k8s/ with the components %j',
    async (components) => {
      const objects = await renderKustomize(components);
      const yaml = objects.map((object) => stringify(object)).join('---\n');
      expect(checkReceiverEnv(yaml)).toEqual({ problems: [], unknown: [] });
    },
  );

  // k8s/README.md's Sentinel variant: in a copy of redis-store, STORE_URL's entry replaced by
  // STORE_SENTINELS and STORE_SENTINEL_MASTER, with the data nodes' user and the password files.
  it("finds nothing the receiver would refuse in redis-store's Sentinel variant, with triggers and WORKERS=2", async () => {
    const copy = mkdtempSync(path.join(tmpdir(), 'redis-store-sentinel-'));
    try {
      cpSync(path.join(K8S_DIR, 'components/redis-store'), copy, { recursive: true });
      const patch = path.join(copy, 'deployment-patch.yaml');
      const sentinel = lines(
        ...Object.entries({
          ...sentinels,
          STORE_USERNAME: 'falco-receiver',
          STORE_PASSWORD_FILE: '/etc/falco-alert-receiver/store/password',
          STORE_SENTINEL_PASSWORD_FILE: '/etc/falco-alert-receiver/store/sentinel-password',
          WORKERS: '2',
        }).flatMap(([name, value]) => [`- name: ${name}`, `  value: ${JSON.stringify(value)}`]),
      );
      const text = readFileSync(patch, 'utf8');
      const withSentinel = text.replace(/ {12}- name: STORE_URL\n(?: {14}.*\n)+/, sentinel);
      expect(withSentinel).not.toBe(text);
      writeFileSync(patch, withSentinel);

      const objects = await renderKustomize([copy, 'triggers']);

      const yaml = objects.map((object) => stringify(object)).join('---\n');
      expect(checkReceiverEnv(yaml)).toEqual({ problems: [], unknown: [] });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
