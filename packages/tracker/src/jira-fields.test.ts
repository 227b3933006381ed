import { describe, expect, it } from 'vitest';
import { propertyValueOf } from './jira-fields.js';

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
