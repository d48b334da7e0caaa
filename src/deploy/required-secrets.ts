import { isObj, objects, parseRenderedDocuments, type Obj } from './rendered-documents.js';

/** A Secret a rendered workload cannot start without, and what needs it. */
export interface RequiredSecret {
  namespace: string;
  name: string;
  /** `deployment/falco-alert-receiver` and the like, in the order first seen. */
  usedBy: string[];
  /** The keys read from it (volume items, secretKeyRef keys), sorted; empty when all are mounted. */
  keys: string[];
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The pod spec of a workload (a CronJob's sits one template deeper, a Pod's is its own). */
function podSpec(doc: Obj): Obj | undefined {
  const spec = isObj(doc.spec) ? doc.spec : undefined;
  if (doc.kind === 'Pod') return spec;
  const jobSpec = doc.kind === 'CronJob' && isObj(spec?.jobTemplate) ? spec.jobTemplate.spec : spec;
  const template = isObj(jobSpec) && isObj(jobSpec.template) ? jobSpec.template : undefined;
  return isObj(template?.spec) ? template.spec : undefined;
}

/** Each non-optional Secret reference of a pod spec: volumes, projected sources, env and envFrom. */
function* secretRefs(spec: Obj): Generator<{ name: string; key?: string }> {
  for (const volume of objects(spec.volumes)) {
    const sources = isObj(volume.secret)
      ? [volume.secret]
      : isObj(volume.projected)
        ? objects(volume.projected.sources).flatMap((source) => (isObj(source.secret) ? [source.secret] : []))
        : [];
    for (const secret of sources) {
      const name = str(secret.secretName) ?? str(secret.name);
      if (name === undefined || secret.optional === true) continue;
      const items = objects(secret.items);
      if (items.length === 0) yield { name };
      for (const item of items) yield { name, key: str(item.key) };
    }
  }
  const containers = [...objects(spec.initContainers), ...objects(spec.containers)];
  for (const container of containers) {
    for (const env of objects(container.env)) {
      const ref =
        isObj(env.valueFrom) && isObj(env.valueFrom.secretKeyRef) ? env.valueFrom.secretKeyRef : undefined;
      const name = str(ref?.name);
      if (ref && name !== undefined && ref.optional !== true) yield { name, key: str(ref.key) };
    }
    for (const from of objects(container.envFrom)) {
      const name = str(isObj(from.secretRef) ? from.secretRef.name : undefined);
      if (name !== undefined && isObj(from.secretRef) && from.secretRef.optional !== true) yield { name };
    }
  }
}

/**
 * The Secrets the rendered manifests (`kubectl kustomize` output) need and do not create
 * themselves: without one a pod waits in ContainerCreating (or CreateContainerConfigError) and a
 * rollout only times out. Resources without a namespace are in `defaultNamespace`. Throws on
 * text that is not YAML, as parseRenderedDocuments does.
 */
export function requiredSecrets(renderedYaml: string, defaultNamespace: string): RequiredSecret[] {
  const created = new Set<string>();
  const needed = new Map<string, { namespace: string; name: string; usedBy: string[]; keys: Set<string> }>();
  for (const doc of parseRenderedDocuments(renderedYaml)) {
    const metadata = isObj(doc.metadata) ? doc.metadata : {};
    const namespace = str(metadata.namespace) ?? defaultNamespace;
    const resourceName = str(metadata.name) ?? '';
    if (doc.kind === 'Secret') created.add(`${namespace}/${resourceName}`);
    if (typeof doc.kind !== 'string' || !WORKLOAD_KINDS.has(doc.kind)) continue;
    const spec = podSpec(doc);
    if (!spec) continue;
    const workload = `${doc.kind.toLowerCase()}/${resourceName}`;
    for (const ref of secretRefs(spec)) {
      const id = `${namespace}/${ref.name}`;
      let entry = needed.get(id);
      if (!entry) {
        entry = { namespace, name: ref.name, usedBy: [], keys: new Set() };
        needed.set(id, entry);
      }
      if (!entry.usedBy.includes(workload)) entry.usedBy.push(workload);
      if (ref.key !== undefined) entry.keys.add(ref.key);
    }
  }
  return [...needed.entries()]
    .filter(([id]) => !created.has(id))
    .map(([, entry]) => ({ ...entry, keys: [...entry.keys].sort() }));
}
