import { describe, expect, it } from 'vitest';
import { findingLines } from './actions.js';

describe('what an inspection step shows live', () => {
  it('is its counts, worst first, then each finding that is not ok', () => {
    expect(
      findingLines('inspection.disk', [
        { status: 'ok', subject: '/', message: '40% used' },
        { status: 'warn', subject: '/home', message: '85% used (warn at 80%)' },
        { status: 'crit', subject: '/var', message: '97% used (crit at 95%)' },
        { status: 'unknown', message: 'df is not installed' },
      ]),
    ).toBe(
      'inspection.disk: 1 crit, 1 warn, 1 unknown, 1 ok\n' +
        '  crit /var: 97% used (crit at 95%)\n' +
        '  warn /home: 85% used (warn at 80%)\n' +
        '  unknown df is not installed\n',
    );
    expect(findingLines('inspection.zombies', [])).toBe('inspection.zombies: no findings\n');
  });
});
