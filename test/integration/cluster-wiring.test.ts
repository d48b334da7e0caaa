import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_PATHS } from '../../src/http/routes/ingest.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { loadFalcoSamples, postFalcoSample } from './support/falco-samples.js';
import { findObject, renderKustomize, type K8sObject } from './support/kustomize.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));
const HELM_VALUES = path.resolve(import.meta.dirname, '../../helm-values');

function readValues(file: string): Record<string, unknown> {
  return parse(readFileSync(path.join(HELM_VALUES, file), 'utf8')) as Record<string, unknown>;
}

interface FalcoValues {
  falco: { json_output: boolean; http_output: { enabled: boolean; url: string } };
}

describe.skipIf(!kubectlReady)("Falco's http_output and the receiver's manifests", () => {
  const values = readValues('falco.yaml') as unknown as FalcoValues;
  const url = new URL(values.falco.http_output.url);
  let objects: K8sObject[];
  let service: ServiceProcess;

  beforeAll(async () => {
    objects = await renderKustomize();
    service = await startServiceProcess();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('turns on JSON output and the HTTP output under the chart key `falco`', () => {
    expect(values.falco.json_output).toBe(true);
    expect(values.falco.http_output.enabled).toBe(true);
    expect(url.protocol).toBe('http:');
  });

  it('addresses the Service that kubectl kustomize renders, by cluster DNS name and port', () => {
    const svc = findObject(objects, 'Service', 'falco-alert-receiver');
    const deployment = findObject(objects, 'Deployment', 'falco-alert-receiver');
    const namedPort = deployment.spec.template.spec.containers[0].ports.find(
      (port: { name: string }) => port.name === svc.spec.ports[0].targetPort,
    );

    expect(url.hostname).toBe(`${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`);
    expect(Number(url.port)).toBe(svc.spec.ports[0].port);
    expect(namedPort.containerPort).toBe(Number(findObject(objects, 'ConfigMap').data.PORT));
  });

  it('posts to a path the service ingests on, and the real service accepts a Falco alert there', async () => {
    const sample = loadFalcoSamples().find((item) => item.expect === 'accept');
    if (!sample) throw new Error('no accepted sample in the fixtures');

    const status = await postFalcoSample(new URL(url.pathname, service.baseUrl).href, sample);

    expect(INGEST_PATHS).toContain(url.pathname);
    expect(status).toBe(202);
  });

  it('probes paths the real service answers with 200 while it is ready', async () => {
    const container = findObject(objects, 'Deployment').spec.template.spec.containers[0];
    const paths = [container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path];

    const statuses = await Promise.all(
      paths.map(async (probePath: string) => (await fetch(`${service.baseUrl}${probePath}`)).status),
    );

    expect(paths).toEqual(['/healthz', '/readyz']);
    expect(statuses).toEqual([200, 200]);
  });
});

describe('the event-generator values', () => {
  const values = readValues('event-generator.yaml') as {
    config: { command: string; loop: boolean; actions: string };
  };

  it('render a one-shot Job that only runs actions (config.loop false, command run)', () => {
    expect(values.config.loop).toBe(false);
    expect(values.config.command).toBe('run');
  });

  it('select actions with a regex that matches the intended actions and no others', () => {
    const actions = new RegExp(values.config.actions);

    expect(actions.test('syscall.ReadSensitiveFileUntrusted')).toBe(true);
    expect(actions.test('syscall.RunShellUntrusted')).toBe(true);
    expect(actions.test('syscall.ReadSensitiveFileTrustedAfterStartup')).toBe(false);
    expect(actions.test('k8saudit.CreateDisallowedPod')).toBe(false);
  });

  // The chart writes `- {{ .Values.config.actions }}` unquoted into the container command.
  it('keep the actions regex one intact argument when the chart renders it unquoted', () => {
    const rendered = parse(`command:\n  - /bin/event-generator\n  - ${values.config.actions}\n`) as {
      command: string[];
    };

    expect(rendered.command).toEqual(['/bin/event-generator', values.config.actions]);
  });
});
