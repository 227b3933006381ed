import { describe, expect, it } from 'vitest';
import { bugsJql } from './ticket-lookup.js';

describe('bugsJql', () => {
  it('searches the words only: Lucene operators in what an engineer types never reach Jira', () => {
    expect(bugsJql('OPS', 'disk full: /var (ENOSPC*) -x?')).toBe(
      'project = "OPS" AND labels = "bug" AND text ~ "disk full var ENOSPC x" ORDER BY created DESC',
    );
    expect(bugsJql('OPS', 'Ошибка диска "sda"', '')).toBe(
      'project = "OPS" AND text ~ "Ошибка диска sda" ORDER BY created DESC',
    );
  });

  it('refuses a search without a word, saying what to type', () => {
    expect(() => bugsJql('OPS', '  ')).toThrow(/say what to look for in words/);
    expect(() => bugsJql('OPS', '*:?')).toThrow(/"\*:\?" has none/);
  });
});
