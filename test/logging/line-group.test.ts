import { describe, expect, it } from 'vitest';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import {
  createLineGroup,
  cutAtLines,
  PIPE_ATOMIC_BYTES,
  type LinePart,
} from '../../src/logging/line-group.js';
import { PIECE_SOURCE_BYTES } from '../../src/logging/line-pieces.js';
import { logSafeBytes } from '../../src/logging/log-safe.js';
import { RAW_LINE_BREAKERS } from '../helpers/line-breakers.js';

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

  it('writes a large turn whole and in order, each write within the limit unless one line is longer', () => {
    const { writes, stream } = recorder();
    const max = 64;
    const group = createLineGroup(stream, max);
    group.open();
    // Lines around the limit, some with 3-byte characters (fewer characters than bytes).
    const lines = Array.from(
      { length: 200 },
      (_, i) => `${i}:${'€'.repeat(i % 7)}${'x'.repeat((i * 13) % 90)}\n`,
    );
    for (const line of lines) group.write(line);
    group.commit();
    expect(writes.join('')).toBe(lines.join(''));
    for (const write of writes) {
      const whole = write.split('\n').length - 1;
      expect(write.endsWith('\n')).toBe(true);
      if (whole > 1) expect(Buffer.byteLength(write)).toBeLessThanOrEqual(max);
    }
  });

  it('writes a line given in pieces exactly as the joined line, in order with whole lines', () => {
    const { writes, stream } = recorder();
    const max = 64;
    const group = createLineGroup(stream, max);
    // Outside a group: the joined line at once.
    group.writeParts(['{"a":', '"é€😀"', '}\n']);
    expect(writes).toEqual(['{"a":"é€😀"}\n']);
    group.open();
    // Pieces with 2-, 3- and 4-byte characters and a lone surrogate (written as U+FFFD, as a
    // whole string would be), mixed with whole lines, around the write limit.
    const lines = Array.from({ length: 120 }, (_, i) =>
      i % 3 === 0
        ? `${i}:${'x'.repeat((i * 7) % 70)}\n`
        : [
            `${i}:{"alert":`,
            `"${'é€😀'.repeat(i % 5)}${i % 11 === 0 ? '\ud800' : ''}${'y'.repeat((i * 13) % 80)}"`,
            '}\n',
          ],
    );
    for (const line of lines) {
      if (typeof line === 'string') group.write(line);
      else group.writeParts(line);
    }
    group.commit();
    const expected = lines.map((line) => (typeof line === 'string' ? line : line.join(''))).join('');
    expect(Buffer.from(writes.slice(1).join(''))).toEqual(Buffer.from(expected));
    for (const write of writes.slice(1)) {
      expect(write.endsWith('\n')).toBe(true);
      if (write.split('\n').length - 1 > 1) expect(Buffer.byteLength(write)).toBeLessThanOrEqual(max);
    }
  });

  it('copies a piece given as bytes as it is, in place among text pieces and whole lines', () => {
    const { writes, stream } = recorder();
    const group = createLineGroup(stream, 64);
    const alert = (i: number) =>
      Buffer.from(`{"rule":"r${i}","output":"${'é€😀'.repeat(i % 4)}${'z'.repeat(i * 3)}"}`);
    // Outside a group: the joined line at once.
    group.writeParts(['{"alert":', alert(2), '}\n']);
    expect(writes).toEqual([`{"alert":${alert(2).toString()}}\n`]);
    group.open();
    const lines = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? `${i}\n` : [`${i}:{"alert":`, alert(i), '}\n'],
    );
    for (const line of lines) {
      if (typeof line === 'string') group.write(line);
      else group.writeParts(line);
    }
    group.commit();
    const expected = Buffer.concat(
      lines.flatMap((line) => (typeof line === 'string' ? [line] : line)).map((part) => Buffer.from(part)),
    );
    expect(Buffer.from(writes.slice(1).join(''))).toEqual(expected);
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

  // Regression (security review): an alert's received bytes were copied into its line with U+2028,
  // U+2029, DEL and C1 controls raw, which Python-like readers split into unparsable lines.
  it('escapes DEL, C1 controls, U+2028 and U+2029 in held lines and in lines written at once', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'line-group-'));
    const file = path.join(dir, 'out.log');
    const group = createLineGroup(pino.destination({ dest: file, sync: true }), 64);
    const rule = 'R\u2028INJ\u009b31m\u007f\u0085\u2029';
    const bytes = Buffer.from(JSON.stringify({ rule }));
    group.writeParts(['{"alert":', bytes, '}\n']);
    group.write(`${JSON.stringify({ rule })}\n`);
    group.open();
    group.writeParts(['{"alert":', bytes, '}\n']);
    group.write(`${JSON.stringify({ rule, text: 'x'.repeat(100) })}\n`);
    group.commit();
    const written = readFileSync(file, 'utf8');
    expect(written).not.toMatch(RAW_LINE_BREAKERS);
    const lines = written
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { rule?: string; alert?: { rule: string } });
    expect(lines.map((line) => line.rule ?? line.alert?.rule)).toEqual([rule, rule, rule, rule]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes bytes to a synchronous file destination, every line whole and in order with the others', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'line-group-'));
    const file = path.join(dir, 'out.log');
    const destination = pino.destination({ dest: file, sync: true });
    const group = createLineGroup(destination, 64);
    destination.write('before\n');
    group.open();
    const lines = Array.from(
      { length: 50 },
      (_, i) => `{"n":${i},"text":"${'é'.repeat(i % 4)}${'x'.repeat(i)}"}\n`,
    );
    for (const line of lines) group.write(line);
    group.commit();
    destination.write('after\n');
    expect(readFileSync(file, 'utf8')).toBe(['before\n', ...lines, 'after\n'].join(''));
    rmSync(dir, { recursive: true, force: true });
  });

  it('throws from commit when the descriptor cannot be written', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'line-group-'));
    const file = path.join(dir, 'ro.log');
    writeFileSync(file, '');
    // A descriptor opened read-only: every write fails (EBADF), as a closed stdout would.
    const destination = pino.destination({ dest: openSync(file, 'r'), sync: true });
    const group = createLineGroup(destination);
    group.open();
    group.write('{"a":1}\n');
    expect(() => group.commit()).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('cutAtLines', () => {
  it('cuts at line ends into pieces within the limit, a longer line alone', () => {
    const cut = (text: string, max: number) =>
      cutAtLines(Buffer.from(text), max).map((piece) => piece.toString());
    expect(cut('1234\n5678\nabcd\na line longer than ten\nz\n', 10)).toEqual([
      '1234\n5678\n',
      'abcd\n',
      'a line longer than ten\n',
      'z\n',
    ]);
    expect(cut('éé\néé\n', 8)).toEqual(['éé\n', 'éé\n']);
    expect(cut('', 8)).toEqual([]);
  });
});

// The bytes the commit wrote before lines were escaped in pieces: each piece of each line encoded
// (a string) or copied (bytes), all joined, then escaped at once.
function escapedAtOnce(lines: ReadonlyArray<readonly LinePart[]>): Buffer {
  return logSafeBytes(Buffer.concat(lines.flatMap((parts) => parts.map((part) => Buffer.from(part)))));
}

// Writes, and the memory the process holds in ArrayBuffers (Buffers) at its largest during one.
function memoryRecorder() {
  const writes: string[] = [];
  let peakArrayBuffers = 0;
  const stream = {
    write: (text: string) => {
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
      writes.push(text);
    },
  };
  return {
    written: () => writes.map((text) => Buffer.from(text)),
    stream,
    peakArrayBuffers: () => peakArrayBuffers,
  };
}

const MiB = 1024 * 1024;

describe('createLineGroup, a long line', () => {
  // Regression (probe): a valid 1.75 MiB alert of DEL became an 11 MB line, built whole (1.75 MB)
  // and then escaped whole (11 MB) before its one write; 32 senders of them took RSS to ~308 MB.
  it('commits a 1.75 MiB alert of DEL holding under 1 MiB of buffers beside it while writing', () => {
    const { written, stream, peakArrayBuffers } = memoryRecorder();
    const group = createLineGroup(stream);
    const alert = Buffer.from(JSON.stringify({ output: '\u007f'.repeat(1.75 * MiB - 20) }));
    const line = ['{"level":"info","alert":', alert, '}\n'] as const;
    group.open();
    group.writeParts(line);
    const before = process.memoryUsage().arrayBuffers;
    group.commit();
    expect(peakArrayBuffers() - before).toBeLessThan(MiB);
    expect(Buffer.concat(written()).equals(escapedAtOnce([line]))).toBe(true);
  });

  it('writes exactly the bytes of the lines escaped at once, whatever straddles a piece boundary', () => {
    // Characters of 1 to 4 bytes, escaped ones (DEL, C1, U+2028) and lone surrogates (U+FFFD).
    const chars = ['a', '\u007f', 'é', '\u0085', '\u009b', '€', '\u2028', '\u2029', '😀', '\ud800', '\udc00'];
    const lines: Array<readonly LinePart[]> = [];
    // A long line's UTF-8 is escaped 64 KiB at a time: each character put at each offset around
    // the first boundary, in text and in bytes, then escapes after it.
    for (const char of chars)
      for (let shift = -3; shift <= 3; shift++) {
        const head = 'x'.repeat(PIECE_SOURCE_BYTES + shift - 7);
        const body = `${head}${char}${char}${'\u007f'.repeat(shift + 4)}${char}`;
        lines.push(['{"a":', body, '}\n']);
        lines.push(['{"a":', Buffer.from(body), '}\n']);
        lines.push([`{"a":${body}}\n`]);
      }
    // Long lines of each character, and short lines between them.
    for (const char of chars) {
      lines.push([`{"b":"${char.repeat(3 * PIECE_SOURCE_BYTES + 11)}"}\n`]);
      lines.push(['{"c":', Buffer.from(char.repeat(PIECE_SOURCE_BYTES + 1)), `"${char}"}\n`]);
      lines.push([`{"d":"${char}"}\n`]);
    }
    for (const max of [PIPE_ATOMIC_BYTES, 16 * 1024]) {
      const { written, stream } = memoryRecorder();
      const group = createLineGroup(stream, max);
      group.open();
      for (const line of lines) group.writeParts(line);
      group.commit();
      const writes = written();
      expect(Buffer.concat(writes).equals(escapedAtOnce(lines))).toBe(true);
      // A write of several lines stays within the limit; a longer line is a piece at most 6 x 64 KiB.
      for (const write of writes) {
        const firstEnd = write.indexOf(10);
        if (firstEnd !== -1 && firstEnd < write.length - 1) expect(write.length).toBeLessThanOrEqual(max);
        expect(write.length).toBeLessThanOrEqual(6 * PIECE_SOURCE_BYTES);
      }
    }
  });
});
