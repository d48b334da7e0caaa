import { describe, expect, it } from 'vitest';
import { createInterner } from '../../src/alerts/interner.js';

// A text's identity cannot be observed from JavaScript (equal strings are Object.is-equal), so the
// sharing is checked on lists; texts share the same table code.
describe('createInterner', () => {
  it('gives back one shared, frozen copy of an equal list', () => {
    const shared = createInterner();
    const tags = shared.list(['container', 'shell']);
    expect(shared.list(['container', 'shell'])).toBe(tags);
    expect(tags).toEqual(['container', 'shell']);
    expect(Object.isFrozen(tags)).toBe(true);
    expect(shared.text('Terminal shell in container')).toBe('Terminal shell in container');
  });

  it('never confuses two lists whose joined texts are equal', () => {
    const shared = createInterner();
    const one = shared.list(['a\u0000', 'b']);
    expect(shared.list(['a', '\u0000b'])).toEqual(['a', '\u0000b']);
    expect(shared.list(['a\u0000b'])).toEqual(['a\u0000b']);
    expect(shared.list(['a\u0000', 'b'])).toBe(one);
  });

  it('gives the same copies back when lists alternate or repeat (the last one is compared first)', () => {
    const shared = createInterner();
    const a = shared.list(['container', 'shell']);
    const b = shared.list(['container']);
    expect(shared.list(['container', 'shell'])).toBe(a);
    expect(shared.list(['container', 'shell'])).toBe(a);
    expect(shared.list(['container'])).toBe(b);
    expect(shared.list(['container', 'shell', 'mitre'])).toEqual(['container', 'shell', 'mitre']);
    expect(shared.list([])).toEqual([]);
    expect(shared.list(['container'])).toBe(b);
  });

  it('starts over past its bound instead of growing', () => {
    const shared = createInterner(3);
    const first = shared.list(['list-0']);
    expect(shared.list(['list-0'])).toBe(first);
    for (let i = 1; i < 10; i++) shared.list([`list-${i}`]);
    const again = shared.list(['list-0']);
    expect(again).not.toBe(first);
    expect(again).toEqual(['list-0']);
  });
});
