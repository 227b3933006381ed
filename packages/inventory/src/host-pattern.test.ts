import { fileURLToPath } from 'node:url';
import { ValidationError } from '@opsbook/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectHosts, splitHostPattern } from './host-pattern.js';
import type { Inventory } from './inventory.js';
import { loadInventory } from './inventory-file.js';

const fixture = fileURLToPath(new URL('./__fixtures__/patterns/hosts.yaml', import.meta.url));
let inventory: Inventory;
beforeAll(async () => {
  inventory = await loadInventory(fixture);
});
const names = (pattern: string) => selectHosts(inventory, pattern).map((h) => h.name);
const refusal = (pattern: string): ValidationError => {
  try {
    selectHosts(inventory, pattern);
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error(`pattern '${pattern}' was not refused`);
};
const every = ['web-01', 'web-02', 'web-03', 'web-04', 'web-05', 'db-01', 'db-02'];

describe('selectHosts', () => {
  it.each([
    ['all', every],
    ['*', every],
    ['web:db', every],
    ['web,db', every],
    ['db:web', ['db-01', 'db-02', 'web-01', 'web-02', 'web-03', 'web-04', 'web-05']],
    ['web:&prod', ['web-01', 'web-02', 'web-03']],
    ['web:!prod', ['web-04', 'web-05']],
    ['web:&prod:!web-03', ['web-01', 'web-02']],
    ['!web-03:&prod:web', ['web-01', 'web-02']],
    ['web, &prod, !web-03', ['web-01', 'web-02']],
    ['&prod', ['web-01', 'web-02', 'web-03', 'db-01']],
    ['!web', ['db-01', 'db-02']],
    ['web-*', ['web-01', 'web-02', 'web-03', 'web-04', 'web-05']],
    ['*-01', ['web-01', 'db-01']],
    ['w?b-05', ['web-05']],
    ['~(web|db)-0[1]', ['web-01', 'db-01']],
    ['~db', ['db-01', 'db-02']],
    ['web[0]', ['web-01']],
    ['web[1:3]', ['web-02', 'web-03', 'web-04']],
    ['web[-1]', ['web-05']],
    ['web[3:]', ['web-04', 'web-05']],
    ['eu', ['web-01', 'web-02', 'web-03', 'db-01']],
    ['db-02', ['db-02']],
    ['staging:&db', ['db-02']],
    ['prod:staging:!web', ['db-01', 'db-02']],
  ])(
    '%s selects the hosts Ansible selects, in the order Ansible lists them',
    (pattern, expected) => {
      expect(names(pattern)).toEqual(expected);
    },
  );

  it('names the unmatched word, suggests the group and lists the known groups', () => {
    const e = refusal('wbe');
    expect(e.code).toBe('HOST_PATTERN_NO_MATCH');
    expect(e.message).toBe(
      "host pattern 'wbe': 'wbe' matches no group or host (did you mean 'web'?); every part of a pattern must match a host, so that a misspelt exclusion cannot widen a run. Known groups: all, ungrouped, web, db, prod, staging, eu",
    );
  });

  it('refuses a misspelt exclusion instead of running on the host it meant to exclude', () => {
    const e = refusal('web:!web-3');
    expect(e.problems[0]!.message).toMatch(
      /^'web-3' matches no group or host \(did you mean 'web-03'\?\)/,
    );
  });

  it('refuses parts that leave no host in common', () => {
    expect(refusal('web:&db').problems[0]!.message).toBe(
      'selects no host: its parts leave no host in common. Known groups: all, ungrouped, web, db, prod, staging, eu',
    );
  });

  it('refuses an index past the end, a bad regex and an empty pattern', () => {
    expect(refusal('web[9]').message).toBe(
      "host pattern 'web[9]': 'web[9]' asks for host number 9, but 'web' matches only 5 host(s) (numbered from 0)",
    );
    expect(refusal('~(').code).toBe('HOST_PATTERN_INVALID');
    expect(refusal(' , ').code).toBe('HOST_PATTERN_INVALID');
  });
});

describe('a pattern with a character no part can hold', () => {
  // The attack: each of these once selected more than the pattern says (an unclosed '[' was
  // dropped, and what was left of the part matched wider: '~' alone is the regex that matches
  // every name). A pattern opsbook cannot read whole must be refused, never narrowed to a part.
  it.each([
    ['~[', "'[' at column 2"],
    ['~web[', "'[' at column 5"],
    ['web[', "'[' at column 4"],
    ['web[1', "'[' at column 4"],
    ['web]', "']' at column 4"],
    ['web:!db[0', "'[' at column 8"],
    ['web db', "' ' at column 4"],
  ])('refuses %s (HOST_PATTERN_INVALID) instead of selecting any host', (pattern, where) => {
    const e = refusal(pattern);
    expect(e.code).toBe('HOST_PATTERN_INVALID');
    expect(e.message).toContain(`host pattern '${pattern}': ${where}`);
    expect(e.message).toContain("close each '[' (web[0:2]) and separate parts with ':' or ','");
  });

  it('still takes spaces around the separators and whole brackets', () => {
    expect(names(' web : &prod : !web[0] ')).toEqual(['web-02', 'web-03']);
    expect(names('~db-0[12]:!web')).toEqual(['db-01', 'db-02']);
  });
});

describe('splitHostPattern', () => {
  it('keeps ranges and addresses whole and splits on colons or commas', () => {
    expect(splitHostPattern('web[1:3]')).toEqual(['web[1:3]']);
    expect(splitHostPattern('fe80::1')).toEqual(['fe80::1']);
    expect(splitHostPattern('web:&prod:!web[0:1]')).toEqual(['web', '&prod', '!web[0:1]']);
    expect(splitHostPattern('a, b ,c')).toEqual(['a', 'b', 'c']);
  });
});
