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

  it('leaves out a param declared required: false that has no default, and requires one without either', () => {
    const optional = {
      ...runbook,
      spec: {
        ...runbook.spec,
        params: {
          host: { type: 'string', required: false },
          port: { type: 'integer' },
        },
      },
    } as unknown as Runbook;
    expect(resolveParams(optional, parseParamArgs(['port=5432']))).toEqual({
      values: { port: 5432 },
      secretParams: [],
    });
    expect(resolveParams(optional, parseParamArgs(['host=db', 'port=1'])).values).toEqual({
      host: 'db',
      port: 1,
    });
    expect(() => resolveParams(optional, parseParamArgs(['host=db']))).toThrow(
      'param port is required',
    );
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

describe('readSecretParams of integer, number and boolean secrets', () => {
  const typedSecrets = {
    ...runbook,
    spec: {
      ...runbook.spec,
      params: {
        port: { type: 'integer', secret: true, minimum: 1024, maximum: 65535 },
        ratio: { type: 'number', secret: true },
        debug: { type: 'boolean', secret: true },
      },
    },
  } as unknown as Runbook;
  const names = ['debug', 'port', 'ratio'];
  const read = (env: NodeJS.ProcessEnv) =>
    readSecretParams(typedSecrets, names, {
      OPSBOOK_PARAM_PORT: '54321',
      OPSBOOK_PARAM_RATIO: '0.75',
      OPSBOOK_PARAM_DEBUG: 'true',
      ...env,
    });
  /** The message of what `attempt` throws, or '' when it does not. */
  const messageOf = (attempt: () => unknown) => {
    try {
      attempt();
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };

  it('reads them as --param would type them, giving the step their text', () => {
    expect(read({})).toEqual({ port: '54321', ratio: '0.75', debug: 'true' });
    expect(
      read({
        OPSBOOK_PARAM_PORT: '01080',
        OPSBOOK_PARAM_RATIO: '1e3',
        OPSBOOK_PARAM_DEBUG: 'false',
      }),
    ).toEqual({ port: '1080', ratio: '1000', debug: 'false' });
  });

  it.each([
    ['OPSBOOK_PARAM_PORT', '54321.5', 'port', 'an integer'],
    ['OPSBOOK_PARAM_PORT', 'eight-eight', 'port', 'an integer'],
    ['OPSBOOK_PARAM_RATIO', '0,75', 'ratio', 'a number'],
    ['OPSBOOK_PARAM_RATIO', 'NaNa', 'ratio', 'a number'],
    ['OPSBOOK_PARAM_DEBUG', 'yes-please', 'debug', 'true or false'],
    ['OPSBOOK_PARAM_DEBUG', 'TRUE', 'debug', 'true or false'],
  ])(
    'refuses %s=%s naming the variable and the type, never the value',
    (variable, value, name, type) => {
      const message = messageOf(() => read({ [variable]: value }));
      expect(message).toBe(
        `secret param ${name} (from ${variable}) is not ${type}: set ${variable} to ${type} in the environment of opsbook run`,
      );
      expect(message).not.toContain(value);
    },
  );

  it('refuses a typed secret outside its rules without repeating the value', () => {
    const message = messageOf(() => read({ OPSBOOK_PARAM_PORT: '80' }));
    expect(message).toContain('secret param port (from OPSBOOK_PARAM_PORT) does not satisfy');
    expect(message).not.toContain('80');
  });
});
