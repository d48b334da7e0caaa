import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';

/** The repository's kustomize base. */
export const K8S_DIR = path.resolve(import.meta.dirname, '../../../k8s');

/** A rendered Kubernetes object, loosely typed: tests read the fields they assert. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are free-form YAML
  [field: string]: any;
}

/**
 * Renders k8s/ with `kubectl kustomize`, optionally with components (names under k8s/components/,
 * or absolute folders such as a user's copy of one) and more resources (file name to text) through
 * a throw-away overlay, as a user's overlay would.
 */
export async function renderKustomize(
  components: string[] = [],
  resources: Record<string, string> = {},
): Promise<K8sObject[]> {
  if (components.length === 0 && Object.keys(resources).length === 0)
    return parseManifests(await kustomize(K8S_DIR));
  const overlay = mkdtempSync(path.join(os.tmpdir(), 'kustomize-overlay-'));
  try {
    // kustomize refuses absolute paths for bases and components.
    const base = path.relative(overlay, K8S_DIR);
    const componentDir = (name: string) =>
      path.isAbsolute(name) ? path.relative(overlay, name) : `${base}/components/${name}`;
    for (const [file, text] of Object.entries(resources)) writeFileSync(path.join(overlay, file), text);
    const lines = [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${base}`,
      ...Object.keys(resources).map((file) => `  - ${file}`),
      'components:',
      ...components.map((name) => `  - ${componentDir(name)}`),
    ];
    writeFileSync(path.join(overlay, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return parseManifests(await kustomize(overlay));
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

async function kustomize(dir: string): Promise<string> {
  const { stdout } = await execa('kubectl', ['kustomize', dir], { timeout: 30_000 });
  return stdout;
}

/** Every YAML document of a multi-document stream (empty documents dropped). */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

/** The one object of that kind and name; throws when there is none. */
export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find(
    (obj) => obj.kind === kind && (name === undefined || obj.metadata.name === name),
  );
  if (!found) throw new Error(`no ${kind}${name ? ` named ${name}` : ''} in the rendered manifests`);
  return found;
}
