import { describe, expect, it } from 'vitest';
import { requiredSecrets } from '../../src/deploy/required-secrets.js';

const POD_SPEC = `
      initContainers:
        - name: init
          envFrom:
            - secretRef: { name: from-env-from }
            - secretRef: { name: optional-env-from, optional: true }
      containers:
        - name: main
          env:
            - name: A
              valueFrom: { secretKeyRef: { name: from-env, key: a } }
            - name: B
              valueFrom: { secretKeyRef: { name: from-env, key: b } }
            - name: C
              valueFrom: { secretKeyRef: { name: optional-env, key: c, optional: true } }
            - name: D
              valueFrom: { configMapKeyRef: { name: not-a-secret, key: d } }
      volumes:
        - name: whole
          secret: { secretName: whole-volume }
        - name: optional
          secret: { secretName: optional-volume, optional: true }
        - name: projected
          projected:
            sources:
              - secret: { name: projected-secret, items: [{ key: ca.crt, path: ca.crt }] }
              - configMap: { name: not-a-secret }
        - name: made-here
          secret: { secretName: generated }`;

describe('requiredSecrets', () => {
  it('lists each Secret a workload cannot start without, with its users and keys, and none it may do without', () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: apps }
spec:
  template:
    spec:${POD_SPEC}
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              env:
                - name: A
                  valueFrom: { secretKeyRef: { name: from-env, key: a } }
---
apiVersion: v1
kind: Secret
metadata: { name: generated, namespace: apps }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: not-a-secret, namespace: apps }
`;
    expect(requiredSecrets(yaml, 'falco')).toEqual([
      { namespace: 'apps', name: 'whole-volume', usedBy: ['deployment/web'], keys: [] },
      { namespace: 'apps', name: 'projected-secret', usedBy: ['deployment/web'], keys: ['ca.crt'] },
      { namespace: 'apps', name: 'from-env-from', usedBy: ['deployment/web'], keys: [] },
      { namespace: 'apps', name: 'from-env', usedBy: ['deployment/web'], keys: ['a', 'b'] },
      // Without a namespace of its own, the CronJob is in the deploy's namespace.
      { namespace: 'falco', name: 'from-env', usedBy: ['cronjob/nightly'], keys: ['a'] },
    ]);
  });

  it('refuses text that is not YAML instead of finding no Secret in it', () => {
    expect(() => requiredSecrets('kind: Deployment\n  bad: [indent', 'falco')).toThrow(/not YAML/);
  });

  it("refuses text that is not YAML without quoting the Secret's value beside the error", () => {
    const broken =
      'kind: Secret\nmetadata: { name: store }\nstringData:\n  password: s3cr3t-value\n bad: [x\n';

    expect(() => requiredSecrets(broken, 'falco')).toThrow(/not YAML .*: BAD_INDENT at line 5, column 1/);
    expect(() => requiredSecrets(broken, 'falco')).not.toThrow(/s3cr3t-value/);
  });
});
