import { describe, expect, it } from 'vitest';
import { jqlString, propertyValueOf, searchWords } from './jira-fields.js';

describe('propertyValueOf', () => {
  it('reads a Data Center value sent as a JSON string of its JSON', () => {
    expect(propertyValueOf(JSON.stringify({ id: 'd-1', n: [1, 2] }))).toEqual({
      id: 'd-1',
      n: [1, 2],
    });
    expect(propertyValueOf(' [1,"a"]')).toEqual([1, 'a']);
  });

  it('reads a value stored as an object (Cloud, or written before) as it is', () => {
    const value = { runId: 'r-1', status: 'ok' };
    expect(propertyValueOf(value)).toBe(value);
    expect(propertyValueOf(undefined)).toBeUndefined();
    expect(propertyValueOf(null)).toBeNull();
  });

  it('keeps a string that holds no JSON object or array, as someone set it', () => {
    expect(propertyValueOf('just text')).toBe('just text');
    expect(propertyValueOf('{not json')).toBe('{not json');
    expect(propertyValueOf('42')).toBe('42');
  });
});

describe('searchWords', () => {
  it("leaves out Lucene's AND, OR and NOT in capitals, which Jira would read as operators", () => {
    expect(searchWords('Disk full OR slow on db-3 AND web NOT ok')).toBe(
      'Disk full slow on db web ok',
    );
    // Lower case they are words (Jira's index drops them as common words).
    expect(searchWords('or and not', { minLength: 1 })).toBe('or and not');
    expect(searchWords('OR', { minLength: 1 })).toBe('');
  });

  it('keeps letters and digits only, and the first `max` words of `minLength` or more', () => {
    expect(searchWords('a:b* (c) -d "e" f? db-03', { minLength: 1 })).toBe('a b c d e f db 03');
    expect(searchWords('x yy zzz www', { minLength: 2, max: 2 })).toBe('yy zzz');
  });
});

describe('jqlString', () => {
  it("writes control characters as JQL's escapes, which Jira's lexer refuses raw in a string", () => {
    expect(jqlString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(jqlString('x\ty\nz\r')).toBe('"x\\ty\\nz\\r"');
    expect(jqlString('\u0000\u001b[2J\u007f\u0085')).toBe('"\\u0000\\u001b[2J\\u007f\\u0085"');
    expect(jqlString('Ошибка диска')).toBe('"Ошибка диска"');
  });
});
