import type { Document } from 'yaml';
import { findNotJson } from './helm-json.js';
import { withHelmTags } from './helm-yaml-tags.js';
import { isObj, parseYamlDocuments, type Obj } from './rendered-documents.js';
import { valueKind } from './value-kind.js';

/** What a document is when it is not values helm takes (a mapping, or nothing: empty, `null`). */
function notValues(document: unknown): string | undefined {
  const kind = valueKind(document);
  return kind === 'mapping' || kind === 'null' ? undefined : `a ${kind}`;
}

/**
 * The first line helm's reader (k8s.io/apimachinery's YAMLReader, under helm 4.1.4) refuses: one
 * that starts with `---` and holds more than blanks or a comment after it ("invalid Yaml document
 * separator"), such as `--- !!set`, which YAML allows. Undefined when there is none.
 */
function badSeparatorLine(text: string): number | undefined {
  const index = text.split('\n').findIndex((line) => line.startsWith('---') && !/^---\s*(?:#|$)/.test(line));
  return index === -1 ? undefined : index + 1;
}

/**
 * The first directive line (one that starts with `%`: `%YAML 1.2`, `%TAG`) helm's go-yaml reaches,
 * which it refuses (4.1.4, `helm template`): helm's reader hands it each part between `---` lines on
 * its own, so a directive comes without the `---` it belongs to ("did not find expected <document
 * start>"). Go-yaml reads a part's first document only: after a `...` that ends one, nothing.
 * Undefined when there is none.
 */
function directiveLine(text: string): number | undefined {
  let content = false;
  let ended = false;
  for (const [index, line] of text.split('\n').entries()) {
    if (line.startsWith('---')) [content, ended] = [false, false];
    else if (ended) continue;
    else if (line.startsWith('%')) return index + 1;
    else if (/^\.\.\.\s*(?:#|$)/.test(line)) ended = content;
    else if (!/^\s*(?:#|$)/.test(line)) content = true;
  }
  return undefined;
}

/** Throws, naming the line, when sigs.k8s.io/yaml cannot turn a document into JSON (findNotJson). */
function refuseNotJson(file: string, text: string, document: Document.Parsed): void {
  const found = findNotJson(document);
  if (found === undefined) return;
  const line = text.slice(0, found.offset).split('\n').length;
  throw new Error(
    `--values ${file}: line ${line} holds ${found.what}, which helm cannot turn into JSON ("${found.says}"). Write it as text, in quotes.`,
  );
}

/**
 * One values file as helm reads it (4.1.4, LoadValues): every document it reads (the first of each
 * part between `---` lines), in order, merged into one by mergeHelmValues before the file meets the
 * others; an empty one adds nothing, as in helm, and a trailing `---` is common in hand-written YAML.
 * Throws with the file's name when it is not YAML, a line starts with `---` and more
 * (badSeparatorLine), helm reaches a directive (directiveLine), or a document holds what is not JSON
 * (findNotJson) or is not a mapping ("cannot unmarshal yaml document"), all of which helm refuses,
 * naming which line or document and its kind, never its text (describeYamlError says why).
 */
export function loadHelmValues(file: string, text: string): Obj {
  // Never the library's message: it quotes the file, which may hold tokens (describeYamlError).
  const refuse = (why: string) => new Error(`--values ${file}: not YAML (${why})`);
  const badLine = badSeparatorLine(text);
  if (badLine !== undefined)
    throw new Error(
      `--values ${file}: line ${badLine} starts with --- and holds more than a comment after it, which helm refuses ("invalid Yaml document separator"). Start the document on the next line.`,
    );
  // Helm reads values as YAML 1.1, where `no`, `off` and `n` are false as well, and takes a key
  // given twice in a mapping, the later one winning (4.1.4), as toJS does when keys need not be
  // unique; its `<<` overrides the keys before it, and its `!!set` is a mapping (withHelmTags).
  const documents = parseYamlDocuments(text, refuse, {
    version: '1.1',
    uniqueKeys: false,
    customTags: withHelmTags,
    firstOfEachPart: true,
    inspect: (document) => refuseNotJson(file, text, document),
  });
  const directive = directiveLine(text);
  if (directive !== undefined)
    throw new Error(
      `--values ${file}: line ${directive} is a directive (it starts with %), which helm refuses: its reader hands go-yaml the lines before a --- without it ("did not find expected <document start>"). Remove the line.`,
    );
  for (const [index, document] of documents.entries()) {
    const kind = notValues(document);
    if (kind !== undefined)
      throw new Error(
        `--values ${file}: document ${index + 1} is ${kind}, not a mapping of values (key: value), which helm refuses.`,
      );
  }
  return documents.filter(isObj).reduce(mergeHelmValues, {});
}

/**
 * Helm's MergeMaps: b's keys over a's, a mapping into a mapping key by key; anything else b holds,
 * null too, replaces what a holds there. A null is only read as "remove the key" when the merged
 * values meet the chart's (declaredAt), so a later document's mapping replaces an earlier one's null.
 */
export function mergeHelmValues(a: Obj, b: Obj): Obj {
  const merged = Object.entries(b).map(([key, value]) => {
    const held = Object.hasOwn(a, key) ? a[key] : undefined;
    return [key, isObj(value) && isObj(held) ? mergeHelmValues(held, value) : value];
  });
  // Spread and fromEntries define keys, so a `__proto__` key is a key like the others.
  return { ...a, ...Object.fromEntries(merged) };
}

/**
 * What a file's values say of the key at `path`: undefined when they leave it alone, null when they
 * set it or a section holding it to null, which helm reads as "remove it" (the chart's default is
 * removed too, checked with `helm template`), else its value.
 */
export function declaredAt(values: Obj, path: readonly string[]): unknown {
  let node: unknown = values;
  for (const key of path) {
    if (!isObj(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
    if (node === null) return null;
  }
  return node;
}
