import { describe, expect, it } from 'vitest';
import {
  capQueryText,
  capTags,
  capText,
  cappedStart,
  FIELD_CAP,
  readCappedText,
  standsForLonger,
  TAGS_IN_JSON,
} from '../../src/store/capped-text.js';

describe('capText', () => {
  it('keeps a text of up to FIELD_CAP units as it is', () => {
    const text = 'r'.repeat(FIELD_CAP);

    expect(capText(text)).toBe(text);
    expect(standsForLonger(text)).toBe(false);
    expect(readCappedText(text)).toBe(text);
  });

  it('stands for a longer text with its start and digest: equal exactly when the texts are', () => {
    const long = 'r'.repeat(100_000);
    const capped = capText(long);

    expect(capped.length).toBe(FIELD_CAP + 44);
    expect(standsForLonger(capped)).toBe(true);
    expect(cappedStart(capped)).toBe('r'.repeat(FIELD_CAP));
    expect(capText(`${long}s`)).not.toBe(capped);
    expect(capText(long.slice(1))).not.toBe(capped);
    expect(readCappedText(capped)).toBe(capped);
    // A text an earlier version kept whole is capped as read.
    expect(readCappedText(long)).toBe(capped);
  });

  it('never cuts a surrogate pair, which Redis would keep as U+FFFD', () => {
    const text = `${'r'.repeat(FIELD_CAP - 1)}\u{1F600}${'r'.repeat(10)}`;

    expect(cappedStart(capText(text))).toBe('r'.repeat(FIELD_CAP - 1));
  });

  it('leaves a filter text with a lone surrogate matching no stored text', () => {
    const text = `${'r'.repeat(2 * FIELD_CAP)}\ud800`;

    expect(capQueryText(text)).toBe(text);
    expect(capQueryText(text)).not.toBe(capText(text.toWellFormed()));
    expect(capQueryText('x'.repeat(2 * FIELD_CAP))).toBe(capText('x'.repeat(2 * FIELD_CAP)));
  });
});

describe('capTags', () => {
  it('keeps tags up to FIELD_CAP of JSON, and says the JSON holds longer ones', () => {
    expect(capTags(undefined)).toBe('');
    expect(capTags(['container', 'shell'])).toBe('["container","shell"]');
    expect(capTags(['t'.repeat(FIELD_CAP)])).toBe(TAGS_IN_JSON);
  });
});
