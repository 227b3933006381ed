import { describe, expect, it } from 'vitest';
import { didYouMean } from './schema-problems.js';

describe('didYouMean', () => {
  const commands = ['lint', 'list', 'show', 'validate'];

  it('prefers, of the equally close, the word with the same letters (two swapped)', () => {
    expect(didYouMean('lsit', commands)).toBe('list');
    expect(didYouMean('lnit', commands)).toBe('lint');
  });

  it('keeps the closest word, and none past the typo limit', () => {
    expect(didYouMean('lin', commands)).toBe('lint');
    expect(didYouMean('valdate', commands)).toBe('validate');
    expect(didYouMean('deploy', commands)).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });
});
