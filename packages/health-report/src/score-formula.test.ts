import { describe, expect, it } from 'vitest';
import { defaultFormula, meanScore, scoreFindings } from './score-formula.js';

describe('scoreFindings', () => {
  it('computes the README example: disk warn, memory ok, load crit, tls unknown', () => {
    // (3·0.6 + 2·1 + 1·0 + 2·0.8) / (3 + 2 + 1 + 2) = 5.4 / 8 = 67.5
    const score = scoreFindings([
      { check: 'inspection.disk', status: 'warn' },
      { check: 'inspection.memory', status: 'ok' },
      { check: 'inspection.load', status: 'crit' },
      { check: 'inspection.tls-cert', status: 'unknown' },
    ]);
    expect(score).toBe(67.5);
  });

  it('counts a check with several subjects once, at its worst subject', () => {
    const oneBad = scoreFindings([
      { check: 'inspection.disk', status: 'ok' },
      { check: 'inspection.disk', status: 'crit' },
      { check: 'inspection.disk', status: 'ok' },
      { check: 'inspection.memory', status: 'ok' },
    ]);
    expect(oneBad).toBe(40); // (3·0 + 2·1) / 5
  });

  it('weighs an unlisted check with the default weight', () => {
    expect(
      scoreFindings([
        { check: 'inspection.custom', status: 'warn' },
        { check: 'inspection.load', status: 'ok' },
      ]),
    ).toBe(80);
  });

  it('has no score without findings, and honours a custom formula', () => {
    expect(scoreFindings([])).toBeNull();
    const strict = {
      ...defaultFormula,
      severityFactors: { ok: 1, unknown: 0, warn: 0.5, crit: 0 },
    };
    expect(scoreFindings([{ check: 'inspection.load', status: 'unknown' }], strict)).toBe(0);
  });

  it('averages only the scores that exist', () => {
    expect(meanScore([90, null, 70])).toBe(80);
    expect(meanScore([null])).toBeNull();
  });
});
