import { isAlias, isMap, isSeq, Scalar, type Alias, type ScalarTag } from 'yaml';

type ToJSContext = Parameters<Alias['resolve']>[1];

const MERGE_KEY = '<<';

/**
 * The `<<` merge key as helm reads it (go-yaml v2 underneath helm 4.1.4, seen with `helm template`):
 * a merged mapping's keys are set where the `<<` stands, over the keys written before it and an
 * earlier `<<`'s; of a list of mappings, the first wins. The yaml library's own merge key never
 * overrides a key, so `url: <URL>` then `<<: *anchor` holding `url: null` would keep the URL.
 */
export const HELM_MERGE_KEY: ScalarTag = {
  tag: 'tag:yaml.org,2002:merge',
  default: 'key',
  test: /^<<$/,
  identify: (value) => value === MERGE_KEY || (typeof value === 'symbol' && value.description === MERGE_KEY),
  // toJS adds a pair through its key's addToJSMap when it has one, as the library's own merge key
  // does; not in yaml's types (2.9.1, pinned), so the merge-key tests of check-falco-values guard it.
  resolve: () => Object.assign(new Scalar(Symbol(MERGE_KEY)), { addToJSMap: mergeOver }),
  stringify: () => MERGE_KEY,
};

function mergeOver(ctx: ToJSContext, map: object, value: unknown): void {
  const resolved = (node: unknown) => (ctx && isAlias(node) ? node.resolve(ctx.doc, ctx) : node);
  const source = resolved(value);
  // go-yaml v2 merges a list's mappings last to first, each over the one before: the first wins.
  for (const item of isSeq(source) ? source.items.toReversed() : [source]) {
    const mapping = resolved(item);
    // The yaml library's own words; the refusal names no more than that a value could not be read.
    if (!isMap(mapping)) throw new Error('Merge sources must be maps or map aliases');
    // Defined, so a `__proto__` key is a key like the others.
    for (const [key, merged] of Object.entries(mapping.toJSON(null, ctx) as object))
      Object.defineProperty(map, key, {
        value: merged,
        writable: true,
        enumerable: true,
        configurable: true,
      });
  }
}
