import { describe, expect, it } from 'vitest';
import { PRIORITIES, isAtLeast, isPriority, prioritySeverity } from '../../src/alerts/priority.js';

describe('priority', () => {
  it('orders Falco priorities from Emergency (most severe) to Debug', () => {
    expect(PRIORITIES.map(prioritySeverity)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('treats a priority as at least as severe as itself and less severe ones', () => {
    expect(isAtLeast('Warning', 'Warning')).toBe(true);
    expect(isAtLeast('Critical', 'Warning')).toBe(true);
    expect(isAtLeast('Notice', 'Warning')).toBe(false);
  });

  it('recognises only the exact names Falco writes', () => {
    expect(isPriority('Informational')).toBe(true);
    expect(isPriority('INFO')).toBe(false);
    expect(isPriority('notice')).toBe(false);
    expect(isPriority(3)).toBe(false);
  });
});
