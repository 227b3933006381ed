import type { Runbook } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import {
  parseParamArgs,
  readSecretParams,
  resolveApprovedParams,
  resolveParams,
} from './params.js';

const runbook = {
  apiVersion: 'opsbook/v1',
  kind: 'Runbook',
  metadata: { name: 'demo', title: 'Demo', category: 'incident', grade: 'P3' },
  spec: {
    params: {
      path: { type: 'string', default: '/var/log/app', pattern: '^/var/log/' },
      days: { type: 'integer', default: 7, minimum: 1 },
      force: { type: 'boolean', default: false },
      unit: { type: 'string', required: true },
      token: { type: 'string', secret: true, minLength: 8 },
    },
    steps: [{ id: 'one', name: 'One', run: 'true' }],
  },
} as unknown as Runbook;

const resolve = (...args: string[]) => resolveParams(runbook, parseParamArgs(args));

describe('resolveParams', () => {
  it('types the given values, fills defaults, and lists secrets by name only', () => {
    expect(resolve('unit=nginx', 'days=14', 'force=true')).toEqual({
      values: { path: '/var/log/app', days: 14, force: true, unit: 'nginx' },
      secretParams: ['token'],
    });
  });

  it.each([
    [['unit=x', 'days=7.5'], '--param days=7.5: days is an integer'],
    [['unit=x', 'days=0'], '--param days: the value is 0, below the minimum 1'],
    [['unit=x', 'force=yes'], '--param force=yes: force is true or false'],
    [
      ['unit=x', 'path=/etc/passwd'],
      '--param path: the value "/etc/passwd" does not match the pattern ^/var/log/',
    ],
    [['unit=x', 'dyas=3'], "demo has no param 'dyas': did you mean 'days'?"],
    [[], 'param unit is required: add --param unit=…'],
    [
      ['unit=x', 'token=hunter22'],
      'param token is secret: do not pass it on the command line; set OPSBOOK_PARAM_TOKEN in the environment of opsbook run',
    ],
    [
      ['unit=a\u0000b'],
      '--param unit: the value contains a NUL byte, which no command can receive',
    ],
    [['unit'], "--param 'unit' must be name=value, e.g. --param days=7"],
    [['unit=a', 'unit=b'], '--param unit is given twice: give each param once'],
  ])('refuses %j with a sentence that says what to do', (args, message) => {
    expect(() => resolve(...args)).toThrow(message);
  });
});

describe('resolveApprovedParams', () => {
  it('takes the approved values as they are typed and fills defaults', () => {
    expect(resolveApprovedParams(runbook, { unit: 'nginx', days: 14 })).toEqual({
      values: { path: '/var/log/app', days: 14, force: false, unit: 'nginx' },
      secretParams: ['token'],
    });
  });

  it.each([
    [{ unit: 'x', days: 0 }, "the approval's param days: the value is 0, below the minimum 1"],
    [{ unit: 'x', days: '7' }, `the approval's param days: the value is "7", not an integer`],
    [
      { unit: 'x', force: 'true' },
      `the approval's param force: the value is "true", not true or false`,
    ],
    [{ unit: 'x', dyas: 3 }, "the approval's param 'dyas' is not a param of demo"],
    [{}, 'the approval has no value for param unit, which is required'],
    [
      { unit: 'x', token: 'hunter22' },
      'the approval gives a value for param token, which is secret',
    ],
  ])('refuses %j naming the approval, never a --param', (approved, message) => {
    const attempt = () => resolveApprovedParams(runbook, approved);
    expect(attempt).toThrow(message);
    expect(attempt).not.toThrow('--param');
  });
});

describe('readSecretParams', () => {
  it('reads secrets from OPSBOOK_PARAM_<NAME>', () => {
    expect(readSecretParams(runbook, ['token'], { OPSBOOK_PARAM_TOKEN: 's3cret-value' })).toEqual({
      token: 's3cret-value',
    });
  });

  it('names the variable when a secret is missing', () => {
    expect(() => readSecretParams(runbook, ['token'], {})).toThrow('export OPSBOOK_PARAM_TOKEN');
  });

  it('gives an empty string for a secret declared required: false that is unset or empty', () => {
    const optional = {
      ...runbook,
      spec: {
        ...runbook.spec,
        params: {
          ...runbook.spec.params,
          token: { type: 'string', secret: true, required: false },
        },
      },
    } as typeof runbook;
    expect(readSecretParams(optional, ['token'], {})).toEqual({ token: '' });
    expect(readSecretParams(optional, ['token'], { OPSBOOK_PARAM_TOKEN: '' })).toEqual({
      token: '',
    });
    expect(readSecretParams(optional, ['token'], { OPSBOOK_PARAM_TOKEN: 'given' })).toEqual({
      token: 'given',
    });
  });

  it('never repeats the value of a secret that breaks its rules', () => {
    let message = '';
    try {
      readSecretParams(runbook, ['token'], { OPSBOOK_PARAM_TOKEN: 'short' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('does not satisfy');
    expect(message).not.toContain('short');
  });
});
