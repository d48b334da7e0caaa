import { parseAllDocuments, YAMLError, type Document, type Tags } from 'yaml';

/** A YAML mapping as `toJS` returns it: a Kubernetes object or one of its fields. */
export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The mappings of a YAML sequence (a list of containers, volumes, env entries); none when it is not one. */
export function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

/**
 * Options for every parse of a text that may hold secrets. At its default `warn` level the yaml
 * library hands each warning (a tag it does not know, a list or mapping used as a key) to
 * process.emitWarning with the lines around it or the key itself, and Node prints that to stderr;
 * at `error` it still throws or records its errors (only `silent` would drop them).
 */
export const QUIET_YAML = { logLevel: 'error' } as const;

/**
 * Why the yaml library refused a text, by the error's code and place only. Its message quotes the
 * lines around the error (and its first line may hold an alias or a tag from the text), and those
 * may be a Secret's `data` or `stringData`, or a values file's tokens, which npm run deploy prints to
 * the terminal or CI log. It throws a ReferenceError for an alias it cannot resolve (or too many).
 */
export function describeYamlError(error: unknown): string {
  if (error instanceof ReferenceError) return 'an alias it cannot resolve';
  if (!(error instanceof YAMLError)) return 'unreadable';
  const start = error.linePos?.[0];
  const place = start ? `line ${start.line}, column ${start.col}` : `offset ${error.pos[0]}`;
  return `${error.code} at ${place}`;
}

/** How to read a YAML text other than as YAML 1.2 with unique keys, every document. */
export interface YamlReading {
  version?: '1.1' | '1.2';
  uniqueKeys?: boolean;
  /** The schema's tags to read with (the library's customTags): helm's `<<` and `!!set` (withHelmTags). */
  customTags?: (tags: Tags) => Tags;
  /**
   * Only the first document and those that start with `---`, as helm reads values: its reader
   * (k8s.io/apimachinery's YAMLReader) splits the text at `---` lines and decodes one document of
   * each part, so one after a bare `...` is never read.
   */
  firstOfEachPart?: boolean;
  /** Called on each document read, before it becomes values: throws to refuse what the reader would. */
  inspect?: (document: Document.Parsed) => void;
}

/**
 * Every document of a YAML text as plain values, in order (an empty one as null). Throws `refuse`'s
 * error, told the first YAML error by describeYamlError and how many more there are, when any
 * document has one: a partly read text could drop a workload, a Secret or a value without a word.
 * Read as YAML 1.2 with unique keys unless `reading` says otherwise (helm's values: 1.1, keys twice).
 */
export function parseYamlDocuments(
  text: string,
  refuse: (why: string, more: number) => Error,
  { firstOfEachPart = false, inspect, ...reading }: YamlReading = {},
): unknown[] {
  const documents = parseAllDocuments(text, { ...QUIET_YAML, ...reading });
  const errors = documents.flatMap((document) => document.errors);
  if (errors.length > 0) throw refuse(describeYamlError(errors[0]), errors.length - 1);
  const read = firstOfEachPart
    ? documents.filter((document, index) => index === 0 || document.directives.docStart)
    : documents;
  for (const document of read) inspect?.(document);
  try {
    return read.map((document) => document.toJS() as unknown);
  } catch (error) {
    throw refuse(describeYamlError(error), 0);
  }
}

/**
 * The objects of the rendered manifests (`kubectl kustomize` output), one a document; documents
 * that are not mappings (an empty one, a lone scalar) are left out. Throws, naming the first YAML
 * error's code and place and never the text, when any document has one (parseYamlDocuments).
 */
export function parseRenderedDocuments(renderedYaml: string): Obj[] {
  const refuse = (why: string, more: number) =>
    new Error(
      `not YAML kubectl kustomize could have written: ${why}${more > 0 ? ` (and ${more} more)` : ''}`,
    );
  return parseYamlDocuments(renderedYaml, refuse).filter(isObj);
}
