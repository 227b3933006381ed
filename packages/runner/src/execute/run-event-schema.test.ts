import type { Envelope } from '@opsbook/approval';
import type { Connection } from '@opsbook/inventory';
import { compileSchema } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { connectionSchema } from '../plan/plan-schema.js';
import { type RunEvent, type RunStatus, runEventSchema } from './run-events.js';

type SchemaConnection = FromSchema<typeof connectionSchema>;
type EventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const connection: Connection = {
  address: '127.0.0.1',
  port: 22,
  user: 'ops',
  become: true,
  becomeUser: 'root',
  transport: 'ssh',
  connectTimeoutMs: 2500,
};

const usesStepEnd: RunEvent = {
  type: 'step-end',
  host: 'web-1',
  phase: 'prechecks',
  step: 'disk',
  status: 'ok',
  exitCode: null,
  signal: null,
  durationMs: 12,
  stdout: '',
  stderr: '',
  truncated: false,
  uses: 'inspection.disk',
  result: { filesystems: [] },
};

describe('run event schema', () => {
  it("records in host-start the plan's connection, which is inventory's Connection", () => {
    expectTypeOf<EventOf<'host-start'>['connection']>().toEqualTypeOf<SchemaConnection>();
    expectTypeOf<Connection>().toExtend<EventOf<'host-start'>['connection']>();
  });

  it("derives a run claim that is approval's Envelope and the run statuses from the schema", () => {
    expectTypeOf<EventOf<'run-start'>['runClaim']>().toExtend<Envelope>();
    expectTypeOf<Envelope>().toExtend<EventOf<'run-start'>['runClaim']>();
    expectTypeOf<EventOf<'run-end'>['status']>().toEqualTypeOf<RunStatus>();
    expectTypeOf<RunStatus>().toEqualTypeOf<'ok' | 'failed' | 'unreachable' | 'interrupted'>();
    expectTypeOf<RunEvent['type']>().toEqualTypeOf<
      | 'run-start'
      | 'host-start'
      | 'host-key-accepted'
      | 'host-route'
      | 'step-start'
      | 'step-end'
      | 'host-end'
      | 'shard-returned'
      | 'run-end'
    >();
  });

  it('accepts a host-start with an inventory connection and the step-end of a uses step', async () => {
    const validate = await compileSchema<RunEvent>(runEventSchema);
    expect(validate({ type: 'host-start', host: 'web-1', connection })).toBe(true);
    expect(validate(usesStepEnd)).toBe(true);
  });

  it('refuses an unknown event type, a field no event has and a run-end status out of its enum', async () => {
    const validate = await compileSchema<RunEvent>(runEventSchema);
    expect(validate({ type: 'host-pause', host: 'web-1' })).toBe(false);
    expect(validate({ ...usesStepEnd, extra: 1 })).toBe(false);
    const runEnd = {
      type: 'run-end',
      status: 'ok',
      hosts: { 'web-1': 'ok' },
      interrupted: false,
      stoppedByFailures: false,
    };
    expect(validate(runEnd)).toBe(true);
    expect(validate({ ...runEnd, status: 'cancelled' })).toBe(false);
  });
});
