import { checkEnvBeforeStart } from '../config/check-env-before-start.js';
import { unknownVariables } from '../config/ignored-variables.js';
import { isObj, objects, parseRenderedDocuments, type Obj } from './rendered-documents.js';

/** What the rendered manifests set for the receiver that it would refuse, or does not read. */
export interface ReceiverEnvCheck {
  /** `NAME: problem`: the pod would exit 2 at start, and the rollout only time out. */
  problems: string[];
  /** `NAME is not a variable ... did you mean ...`: started, with that setting at its default. */
  unknown: string[];
}

// The kubelet expands $(NAME) in an env value with the variables defined before it ($$ is a $):
// HOST=$(POD_IP) after POD_IP from the downward API listens on the pod's address. A reference to a
// value not in the manifests (a Secret's, the downward API's, a Service link's) leaves the value
// unknown, as a Secret's is: left to the receiver's start. One to a Secret's value makes it a
// Secret's too (`fromSecret`).
function expand(
  value: string,
  env: Map<string, string | undefined>,
  secrets: ReadonlySet<string>,
): { value: string | undefined; fromSecret: boolean } {
  let unknown = false;
  let fromSecret = false;
  const expanded = value.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    const known = env.get(name);
    if (known === undefined) unknown = true;
    if (secrets.has(name)) fromSecret = true;
    return known ?? match;
  });
  return { value: unknown ? undefined : expanded, fromSecret };
}

type Keys = Record<string, string | undefined>;

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const entries = (value: unknown) => Object.entries(isObj(value) ? value : {});

// What each key of a ConfigMap or Secret the manifests hold sets. A Secret's `data` is base64, and a
// key of its `stringData` replaces the same key of `data`, as the API server writes them together.
function keysOf(doc: Obj): Keys {
  if (doc.kind === 'ConfigMap')
    return Object.fromEntries(entries(doc.data).map(([key, value]) => [key, text(value)]));
  const decoded = entries(doc.data).map(([key, value]) => {
    const data = text(value);
    return [key, data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8')];
  });
  return Object.fromEntries([
    ...decoded,
    ...entries(doc.stringData).map(([key, value]) => [key, text(value)]),
  ]);
}

/**
 * The receiver container's variables, checked as the service checks them at start: each value the
 * manifests hold (their ConfigMaps', their Secrets' and literal `value`s) on its own, and the
 * variables together. A variable set from a Secret the manifests do not hold or the downward API is
 * set, to a value not known here (from a key marked optional, set or not); that value and the files
 * variables name are checked at start. Throws on text that is not YAML, as parseRenderedDocuments does.
 */
export function checkReceiverEnv(
  renderedYaml: string,
  defaultNamespace = 'falco',
  deployment = 'falco-alert-receiver',
): ReceiverEnvCheck {
  const docs = parseRenderedDocuments(renderedYaml);
  // The manifests name their namespaces (k8s/components/triggers keeps its Role in another); one
  // without lands where `kubectl apply` puts it, taken to be npm run deploy's (as requiredSecrets does).
  const metadataOf = (doc: Obj) => (isObj(doc.metadata) ? doc.metadata : {});
  const namespaceOf = (doc: Obj) => text(metadataOf(doc).namespace) ?? defaultNamespace;
  const workload = docs.find((doc) => doc.kind === 'Deployment' && metadataOf(doc).name === deployment);
  // The pod reads the ConfigMaps and Secrets of its own namespace: by `ConfigMap/name` and `Secret/name`.
  const held = new Map<string, Keys>();
  for (const doc of docs) {
    const name = text(metadataOf(doc).name);
    const kind = doc.kind === 'ConfigMap' || doc.kind === 'Secret' ? doc.kind : undefined;
    if (workload && kind && name !== undefined && namespaceOf(doc) === namespaceOf(workload))
      held.set(`${kind}/${name}`, keysOf(doc));
  }
  const heldKeys = (kind: 'ConfigMap' | 'Secret', ref: unknown) =>
    isObj(ref) && typeof ref.name === 'string' ? held.get(`${kind}/${ref.name}`) : undefined;
  const spec =
    isObj(workload?.spec) && isObj(workload.spec.template) ? workload.spec.template.spec : undefined;
  const container = isObj(spec)
    ? objects(spec.containers).find((item) => item.name === 'receiver')
    : undefined;
  if (!container) return { problems: [], unknown: [] };
  // As the kubelet builds it: envFrom in order, then env, later names replacing earlier ones.
  const env = new Map<string, string | undefined>();
  // Set or not, to a value not known here: from a key marked optional, or replaced by the keys of a
  // Secret (or ConfigMap) the manifests do not hold.
  const mayBeSet = new Set<string>();
  // Those whose value is a Secret's, known here or not: no problem quotes it.
  const secrets = new Set<string>();
  const define = (name: string, value: string | undefined, fromSecret: boolean) => {
    env.set(name, value);
    mayBeSet.delete(name);
    if (fromSecret) secrets.add(name);
    else secrets.delete(name);
  };
  const unsure = (name: string) => {
    env.delete(name);
    mayBeSet.add(name);
  };
  // The keys of a Secret or ConfigMap the manifests do not hold are not known here: any variable may be one.
  let othersMayBeSet = false;
  for (const from of objects(container.envFrom)) {
    const fromSecret = isObj(from.secretRef);
    const data = heldKeys('ConfigMap', from.configMapRef) ?? heldKeys('Secret', from.secretRef);
    if (!data) {
      othersMayBeSet = true;
      // Its keys replace the values taken before it, whichever they are.
      for (const name of [...env.keys()]) unsure(name);
    }
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    for (const [name, value] of Object.entries(data ?? {})) define(`${prefix}${name}`, value, fromSecret);
  }
  // A key (not marked optional) that an object the manifests hold lacks: the kubelet does not start
  // the container (CreateContainerConfigError), and the rollout only times out.
  const lackedKeys: string[] = [];
  for (const item of objects(container.env)) {
    if (typeof item.name !== 'string') continue;
    const from = isObj(item.valueFrom) ? item.valueFrom : undefined;
    const key = [from?.secretKeyRef, from?.configMapKeyRef].find(isObj);
    // Of an object the manifests hold, a key's value is known; an empty one is the receiver's unset.
    const keys = heldKeys('Secret', from?.secretKeyRef) ?? heldKeys('ConfigMap', from?.configMapKeyRef);
    const keyName = text(key?.key);
    const fromSecret = isObj(from?.secretKeyRef);
    if (keys && keyName !== undefined && Object.hasOwn(keys, keyName))
      define(item.name, keys[keyName], fromSecret);
    else if (typeof item.value === 'string') {
      const expanded = expand(item.value, env, secrets);
      define(item.name, expanded.value, expanded.fromSecret);
    } else if (key?.optional !== true) {
      if (keys && keyName !== undefined) {
        const kind = from?.secretKeyRef === key ? 'Secret' : 'ConfigMap';
        lackedKeys.push(
          `${item.name}: the ${kind} ${String((key as Obj).name)} has no key ${keyName}, so the pod would not start (CreateContainerConfigError)`,
        );
      }
      define(item.name, from ? undefined : '', fromSecret);
    }
    // The kubelet passes over a key marked optional that its object lacks: one not held may have it.
    else if (!keys) unsure(item.name);
  }
  const problems = [
    ...lackedKeys,
    ...checkEnvBeforeStart(Object.fromEntries(env), { othersMayBeSet, mayBeSet, secrets }),
  ];
  const named = [...env.keys(), ...mayBeSet].map((name) => [name, env.get(name) ?? '']);
  const unknown = unknownVariables(Object.fromEntries(named)).map(
    ({ variable, suggestion }) =>
      `${variable} is not a variable the receiver reads${suggestion ? `: did you mean ${suggestion}?` : ''}`,
  );
  return { problems, unknown };
}
