import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { commandWorks, requireComponent } from '../../helpers/components.js';
import { parseManifests, type K8sObject } from './kustomize.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** The real falcosecurity chart archives: FALCO_CHARTS_DIR, default ../shared/charts (sibling of the repo). */
export const FALCO_CHARTS_DIR = path.resolve(REPO_ROOT, process.env.FALCO_CHARTS_DIR ?? '../shared/charts');

/** helm from scripts/ci/fetch-helm.sh, else the one on PATH. */
export const HELM = existsSync(path.join(REPO_ROOT, '.cache/bin/helm'))
  ? path.join(REPO_ROOT, '.cache/bin/helm')
  : 'helm';

/** Whether helm runs; with CI=true a missing helm fails the run (requireComponent). */
export const helmReady = () => requireComponent('helm', commandWorks(HELM, ['version']));

/** The archive's path when it exists; with CI=true a missing archive fails the run, it does not skip. */
export function requireChart(file: string): string | undefined {
  const archive = path.join(FALCO_CHARTS_DIR, file);
  return requireComponent(`chart ${archive} (FALCO_CHARTS_DIR)`, existsSync(archive)) ? archive : undefined;
}

/** A rendered object (the same loose shape kustomize output has). */
export type RenderedObject = K8sObject;

/** `helm template` of an archive with values files (paths relative to the repo root), parsed. */
export async function renderChart(
  archive: string,
  options: {
    release: string;
    namespace: string;
    values: string[];
    extraArgs?: string[];
    env?: Record<string, string>;
  },
): Promise<RenderedObject[]> {
  const { stdout } = await execa(
    HELM,
    [
      'template',
      options.release,
      archive,
      '--namespace',
      options.namespace,
      ...options.values.flatMap((file) => ['--values', file]),
      ...(options.extraArgs ?? []),
    ],
    { cwd: REPO_ROOT, timeout: 60_000, env: options.env },
  );
  return parseManifests(stdout);
}
