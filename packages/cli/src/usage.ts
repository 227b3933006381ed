import { type Command, globalOptions, type OptionSpec } from './command.js';
import type { CommandEntry } from './commands/registry.js';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const extra = [
      o.multiple ? 'repeatable' : '',
      o.default !== undefined && o.default !== false ? `default: ${o.default}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return [flag, `${o.description}${extra ? ` (${extra})` : ''}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`);
}

export function commandHelp(spec: Command): string {
  const lines = [
    `opsbook ${spec.name}${spec.args ? ` ${spec.args}` : ''} [options]`,
    '',
    spec.summary,
  ];
  if (spec.details) lines.push('', spec.details.trimEnd());
  if (spec.options && Object.keys(spec.options).length)
    lines.push('', 'Options:', ...optionLines(spec.options));
  lines.push('', 'Global options:', ...optionLines(globalOptions));
  return lines.join('\n');
}

export function mainHelp(entries: readonly CommandEntry[], prefix = ''): string {
  const shown = entries.filter((e) => e.name.startsWith(prefix));
  const width = Math.max(...shown.map((e) => e.name.length));
  return [
    `opsbook ${prefix ? `${prefix.trim()} ` : ''}<command> [args] [options]`,
    '',
    'Runbooks for operations teams: run only what a senior approved, tied to its ticket.',
    '',
    'Commands:',
    ...shown.map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`),
    '',
    'Run opsbook <command> --help for the options of a command.',
    'Exit codes: 0 success, 1 work failed, 2 invalid input, 3 refused, 4 host or tracker unreachable, 70 a bug in opsbook (run again with --debug and report it), 130 interrupted.',
  ].join('\n');
}
