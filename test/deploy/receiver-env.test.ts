import { describe, expect, it } from 'vitest';
import { checkReceiverEnv } from '../../src/deploy/receiver-env.js';

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
    const lines = (...items: string[]) => items.map((line) => `            ${line}\n`).join('');
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
});
