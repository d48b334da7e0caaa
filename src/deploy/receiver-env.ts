import { parseAllDocuments } from 'yaml';
import { checkEnvBeforeStart } from '../config/check-env-before-start.js';
import { unknownVariables } from '../config/ignored-variables.js';

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const objects = (value: unknown): Obj[] => (Array.isArray(value) ? value.filter(isObj) : []);

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
// unknown, as a Secret's is: left to the receiver's start.
function expand(value: string, env: Map<string, string | undefined>): string | undefined {
  let unknown = false;
  const expanded = value.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    const known = env.get(name);
    if (known === undefined) unknown = true;
    return known ?? match;
  });
  return unknown ? undefined : expanded;
}

/**
 * The receiver container's variables, checked as the service checks them at start: each value the
 * manifests hold (its ConfigMaps and literal `value`s) on its own, and the variables together. A
 * variable set from a Secret or the downward API is set, to a value not known here (from a key
 * marked optional, set or not); that value and the files variables name are checked at start.
 */
export function checkReceiverEnv(
  renderedYaml: string,
  deployment = 'falco-alert-receiver',
): ReceiverEnvCheck {
  const docs = parseAllDocuments(renderedYaml)
    .map((document) => document.toJS() as unknown)
    .filter(isObj);
  const configMaps = new Map<string, Obj>();
  for (const doc of docs) {
    const metadata = isObj(doc.metadata) ? doc.metadata : {};
    if (doc.kind === 'ConfigMap' && typeof metadata.name === 'string')
      configMaps.set(metadata.name, isObj(doc.data) ? doc.data : {});
  }
  const workload = docs.find(
    (doc) => doc.kind === 'Deployment' && isObj(doc.metadata) && doc.metadata.name === deployment,
  );
  const spec =
    isObj(workload?.spec) && isObj(workload.spec.template) ? workload.spec.template.spec : undefined;
  const container = isObj(spec)
    ? objects(spec.containers).find((item) => item.name === 'receiver')
    : undefined;
  if (!container) return { problems: [], unknown: [] };
  // As the kubelet builds it: envFrom in order, then env, later names replacing earlier ones.
  const env = new Map<string, string | undefined>();
  // Set or not, to a value not known here: from a key marked optional, or replaced by a Secret's keys.
  const mayBeSet = new Set<string>();
  const define = (name: string, value: string | undefined) => {
    env.set(name, value);
    mayBeSet.delete(name);
  };
  const unsure = (name: string) => {
    env.delete(name);
    mayBeSet.add(name);
  };
  // A Secret's keys (or a ConfigMap's made elsewhere) are not known here: any variable may be one.
  let othersMayBeSet = false;
  for (const from of objects(container.envFrom)) {
    const ref = isObj(from.configMapRef) ? from.configMapRef : undefined;
    const data = typeof ref?.name === 'string' ? configMaps.get(ref.name) : undefined;
    if (!data) {
      othersMayBeSet = true;
      // Its keys replace the values taken before it, whichever they are.
      for (const name of [...env.keys()]) unsure(name);
    }
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    for (const [name, value] of Object.entries(data ?? {}))
      define(`${prefix}${name}`, typeof value === 'string' ? value : undefined);
  }
  for (const item of objects(container.env)) {
    if (typeof item.name !== 'string') continue;
    const from = isObj(item.valueFrom) ? item.valueFrom : undefined;
    const key = [from?.secretKeyRef, from?.configMapKeyRef].find(isObj);
    if (key?.optional === true) unsure(item.name);
    else define(item.name, typeof item.value === 'string' ? expand(item.value, env) : from ? undefined : '');
  }
  const problems = checkEnvBeforeStart(Object.fromEntries(env), { othersMayBeSet, mayBeSet });
  const named = [...env.keys(), ...mayBeSet].map((name) => [name, env.get(name) ?? '']);
  const unknown = unknownVariables(Object.fromEntries(named)).map(
    ({ variable, suggestion }) =>
      `${variable} is not a variable the receiver reads${suggestion ? `: did you mean ${suggestion}?` : ''}`,
  );
  return { problems, unknown };
}
