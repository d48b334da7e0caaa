import { describe, expect, it } from 'vitest';
import { createLineGroup } from '../../src/logging/line-group.js';

function recorder() {
  const writes: string[] = [];
  return { writes, stream: { write: (text: string) => void writes.push(text) } };
}

describe('createLineGroup', () => {
  it('writes a line at once while no group is open', () => {
    const { writes, stream } = recorder();
    const group = createLineGroup(stream);
    group.write('a\n');
    expect(writes).toEqual(['a\n']);
  });

  it('holds the lines of an open group and writes them together on commit', () => {
    const { writes, stream } = recorder();
    const group = createLineGroup(stream);
    group.open();
    group.write('a\n');
    group.write('b\n');
    expect(writes).toEqual([]);
    group.commit();
    expect(writes).toEqual(['a\nb\n']);
    // Closed again: the next line is not held.
    group.write('c\n');
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('splits a commit at line boundaries so no write exceeds the limit, a longer line going alone', () => {
    const { writes, stream } = recorder();
    const group = createLineGroup(stream, 10);
    group.open();
    for (const line of ['1234\n', '5678\n', 'abcd\n', 'a line longer than ten\n', 'z\n']) group.write(line);
    group.commit();
    expect(writes).toEqual(['1234\n5678\n', 'abcd\n', 'a line longer than ten\n', 'z\n']);
  });

  it('counts bytes, not characters, against the limit', () => {
    const { writes, stream } = recorder();
    const group = createLineGroup(stream, 8);
    group.open();
    group.write('éé\n');
    group.write('éé\n');
    group.commit();
    expect(writes).toEqual(['éé\n', 'éé\n']);
  });

  it('writes nothing for an empty group, and closes a group whose write threw', () => {
    let fail = true;
    const writes: string[] = [];
    const group = createLineGroup({
      write: (text: string) => {
        if (fail) throw new Error('EIO');
        writes.push(text);
      },
    });
    group.open();
    group.commit();
    group.open();
    group.write('a\n');
    expect(() => group.commit()).toThrow('EIO');
    fail = false;
    // The failed group is closed; what follows is written normally.
    group.write('b\n');
    expect(writes).toEqual(['b\n']);
  });
});
