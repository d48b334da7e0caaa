import { isAlias, isMap, isScalar, isSeq, visit, type Document, type Pair, type Scalar } from 'yaml';

/** What a values document holds that helm cannot read, named by kind (never quoted), and helm's words. */
export interface NotJson {
  /** 0-based offset in the text where it starts. */
  offset: number;
  what: string;
  says: string;
}

/** Written as .nan or .inf (`1e400` is Infinity to the yaml library, but text to go-yaml v2). */
const NOT_A_JSON_NUMBER = /^[-+]?\.(?:nan|NaN|NAN|inf|Inf|INF)$/;

function keyNotJson(pair: Pair, document: Document.Parsed): NotJson | undefined {
  // Named where the key is written, an alias too.
  const offset = (pair.key as { range?: [number] } | null)?.range?.[0] ?? 0;
  const node = isAlias(pair.key) ? pair.key.resolve(document) : pair.key;
  if (isSeq(node)) return { offset, what: 'a key that is a list', says: 'invalid map key' };
  if (isMap(node)) return { offset, what: 'a key that is a mapping', says: 'invalid map key' };
  if (node === null || (isScalar(node) && node.value === null))
    return { offset, what: 'a key that is null', says: 'unsupported map key' };
  return undefined;
}

function valueNotJson(key: unknown, node: Scalar): NotJson | undefined {
  // As a key, .nan is text to sigs.k8s.io/yaml; in quotes it is text anyway.
  if (key === 'key' || typeof node.value !== 'number' || !NOT_A_JSON_NUMBER.test(node.source ?? ''))
    return undefined;
  return { offset: node.range?.[0] ?? 0, what: '.nan or .inf', says: 'json: unsupported value' };
}

/**
 * The first thing in a values document that sigs.k8s.io/yaml (under helm 4.1.4) cannot turn into
 * JSON, so helm refuses the file ("cannot unmarshal yaml document", `helm template` of charts 3.1.4
 * and 9.1.0): a key that is a list or a mapping (go-yaml v2: "invalid map key") or null
 * ("unsupported map key"), or a value .nan or .inf ("json: unsupported value"). The yaml library
 * reads them all: a key as its text, .nan as NaN. Undefined when there is none.
 */
export function findNotJson(document: Document.Parsed): NotJson | undefined {
  let found: NotJson | undefined;
  visit(document, {
    Pair: (_key, pair) => {
      found = keyNotJson(pair, document);
      return found ? visit.BREAK : undefined;
    },
    Scalar: (key, node) => {
      found = valueNotJson(key, node);
      return found ? visit.BREAK : undefined;
    },
  });
  return found;
}
