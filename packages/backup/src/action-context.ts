import type { Transport } from '@opsbook/exec';
import type { BackupProgress } from './file-backup.js';
import type { CopyTarget } from './off-host-copy.js';

/** What the runner gives an action for one host. */
export interface BackupActionContext {
  /** The host's transport (one SSH connection, or local). */
  transport: Transport;
  /** Inventory name of the host. */
  host: string;
  /** The step's `with:`, already rendered and validated against the action's `withSchema`. */
  with: Record<string, unknown>;
  /** The local repository folder. */
  repository: string;
  runId: string;
  /** Secret params by name, or as OPSBOOK_PARAM_<NAME> variables (never logged); `passwordParam` names one. */
  secrets: Readonly<Record<string, string>>;
  signal: AbortSignal;
  /** Progress for the live display and the journal. */
  progress?: (event: BackupProgress) => void;
  /**
   * Opens an SSH connection to another machine (an off-host copy's destination) with the run's
   * known_hosts and keys; closed by the action. Absent: `backup.copy` fails and says so.
   */
  connect?: (target: CopyTarget) => Promise<Transport>;
}

/** What an action returns, for the journal: `ok` decides the step's status. */
export interface BackupActionResult {
  ok: boolean;
  summary: string;
  data: Record<string, unknown>;
}

export interface BackupAction {
  name: string;
  description: string;
  /** JSON Schema (2020-12) of `with:`; closed. */
  withSchema: object;
  run(ctx: BackupActionContext): Promise<BackupActionResult>;
}

/** A whole number ≥ 0, or a `{{ params.x }}` template (rendered to its digits). */
export const countSchema = {
  type: ['integer', 'string'],
  pattern: '^[0-9]{1,9}$|\\{\\{',
  minimum: 0,
} as const;

/** A boolean, or a `{{ params.x }}` template (rendered to true or false). */
export const flagSchema = {
  type: ['boolean', 'string'],
  pattern: '^(true|false)$|\\{\\{',
} as const;

/** `true`, or the rendered text of a template that said true. */
export const isSet = (value: unknown): boolean => value === true || value === 'true';

/** A closed JSON Schema 2020-12 object of `with:`. */
export const closed = (properties: object, required: string[] = []) => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});
