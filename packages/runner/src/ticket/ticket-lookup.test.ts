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

  it('refuses a --label no Jira label can be (a space, a control character), naming it without printing it', () => {
    for (const label of ['known bug', 'bug\u001b[2J', 'bug\n', 'b\u0085ug'])
      expect(() => bugsJql('OPS', 'disk', label)).toThrow(
        /--label .* cannot hold spaces or control characters/,
      );
    expect(() => bugsJql('OPS', 'disk', 'bug\u001b[2J')).toThrow(/U\+001B \(ESC\)/);
    expect(() => bugsJql('OPS', 'disk', 'bug\u001b[2J')).not.toThrow(/\u001b/);
    expect(bugsJql('OPS', 'disk', 'known-bug')).toContain('labels = "known-bug"');
  });

  it('writes a project key holding a control character as a JQL escape, never raw', () => {
    expect(bugsJql('OP\u0007S', 'disk')).toMatch(/^project = "OP\\u0007S" AND/);
  });
});
