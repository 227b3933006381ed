import { type ParseArgsConfig, parseArgs } from 'node:util';
import { didYouMean, UsageError } from '@opsbook/schema';
import type { Output } from './output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  /** Shown in help as the value's name, e.g. FILE. */
  value?: string;
  default?: string | boolean;
}

/**
 * What a command's module defines. Its name and one-line summary are not here: they live in the
 * command table (commands/registry.ts) alone, so `opsbook --help` and `opsbook <cmd> --help`
 * cannot disagree, and the table lists every command without importing any.
 */
export interface CommandSpec {
  /** Positional arguments as shown in help, e.g. `[path…]` or `<name>`. */
  args?: string;
  /** Number of positionals accepted. */
  positionals?: { min: number; max: number };
  options?: Record<string, OptionSpec>;
  /** Further explanation and examples for --help. */
  details?: string;
  /**
   * True when nothing of the command is still pending once `run` resolved: no socket, timer,
   * child process or file write left for the event loop. The process then exits at once instead
   * of tearing down the runtime (about 10 ms of a cold `validate`). Output is never lost: stdout
   * and stderr writes are synchronous on Linux for files, pipes and terminals.
   */
  isDoneWhenResolved?: boolean;
  run(ctx: CommandContext): Promise<number | undefined>;
}

/** The name and one-line summary of a command, as the command table gives them. */
export interface CommandMeta {
  /** Full name as typed, e.g. `validate` or `approval payload`. */
  name: string;
  summary: string;
}

/** A loaded command: its table entry's name and summary with its module's spec. */
export type Command = CommandMeta & CommandSpec;

export interface CommandContext {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
  global: GlobalOptions;
  out: Output;
}

export interface GlobalOptions {
  json: boolean;
  debug: boolean;
  config?: string | undefined;
}

/** Options every command accepts. */
export const globalOptions: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print one JSON document on stdout' },
  config: {
    type: 'string',
    value: 'FILE',
    description: 'use this opsbook.yaml instead of searching upwards',
  },
  debug: { type: 'boolean', description: 'show stack traces of unexpected errors' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

/** Parse argv for one command strictly: an unknown option or a missing value is a usage error. */
export function parseCommandArgs(
  spec: Command,
  argv: string[],
): { positionals: string[]; options: CommandContext['options'] } {
  const all = { ...globalOptions, ...spec.options };
  const config: ParseArgsConfig = {
    args: argv,
    strict: true,
    allowPositionals: true,
    options: Object.fromEntries(
      Object.entries(all).map(([k, o]) => [
        k,
        {
          type: o.type,
          ...(o.short ? { short: o.short } : {}),
          ...(o.multiple ? { multiple: true } : {}),
        },
      ]),
    ),
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    throw new UsageError(explainParseError(spec, e as Error & { code?: string }, Object.keys(all)));
  }
  const options = parsed.values as CommandContext['options'];
  for (const [k, o] of Object.entries(all)) {
    if (options[k] === undefined && o.default !== undefined) options[k] = o.default;
  }
  if (options.help) return { positionals: parsed.positionals, options };
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    const want =
      min === max
        ? `${min}`
        : max === Number.POSITIVE_INFINITY
          ? `at least ${min}`
          : `${min} to ${max}`;
    const extra = n > max ? `: unexpected '${parsed.positionals[max]}'` : '';
    throw new UsageError(
      `opsbook ${spec.name} takes ${want} argument${want === '1' ? '' : 's'} (${spec.args ?? 'none'}), got ${n}${extra}; see opsbook ${spec.name} --help`,
    );
  }
  if (spec.args?.startsWith('<KEY>') && parsed.positionals[0] !== undefined)
    checkTicketKey(parsed.positionals[0]);
  return { positionals: parsed.positionals, options };
}

/**
 * The `<KEY>` of a ticket command has a key's form, in any case (Jira takes `ops-1`; the embedded
 * tracker says which case to type): a mistake in the command, said before the signing key is
 * looked for, as every other one is.
 */
function checkTicketKey(key: string): void {
  if (/^[A-Za-z][A-Za-z0-9_]*-[0-9]+$/.test(key)) return;
  const file = /\.json$/i.test(key) || key.includes('/');
  throw new UsageError(
    `"${key}" is not a ticket key: use the form PROJECT-123 (e.g. OPS-12)${file ? `; to run an approval file, use opsbook run ${key}` : ''}`,
  );
}

function explainParseError(spec: Command, e: Error & { code?: string }, known: string[]): string {
  const help = `see opsbook ${spec.name} --help`;
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(e.message);
  if (unknown?.[1]) {
    const guess = didYouMean(unknown[1].replace(/^-+/, ''), known);
    return `unknown option ${unknown[1]} for opsbook ${spec.name}${guess ? `: did you mean --${guess}?` : ''}; ${help}`;
  }
  const missing =
    /Option '(-[^']+)' argument missing/.exec(e.message) ??
    /Option '([^']+)' argument missing/.exec(e.message);
  if (missing?.[1]) return `option ${missing[1].split(',').pop()?.trim()} needs a value; ${help}`;
  const dashed = /Option '(-[^']+)' argument is ambiguous/.exec(e.message);
  if (dashed?.[1]) {
    const name = dashed[1].split(',').pop()?.trim() ?? dashed[1];
    return `option ${name} got a value that begins with '-': write ${name}=VALUE if that is the value you mean, or give ${name} a value; ${help}`;
  }
  return `${e.message.split('\n')[0]}; ${help}`;
}

/** Read a `--name` option that may only be given once. */
export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.options[name];
  if (v === undefined || typeof v === 'boolean') return undefined;
  if (Array.isArray(v)) return v[v.length - 1];
  return v;
}

export function listOption(ctx: CommandContext, name: string): string[] {
  const v = ctx.options[name];
  if (v === undefined || typeof v === 'boolean') return [];
  return Array.isArray(v) ? v : [v];
}
