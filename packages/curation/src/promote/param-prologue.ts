import type { DetectedParam } from './script-interface.js';

/**
 * The lines `opsbook promote` puts at the top of a promoted script. The runner gives a `script:`
 * step its params as environment variables `OPSBOOK_PARAM_<NAME>` and never writes a value into
 * the script (DESIGN §3); these lines hand each one to the script the way it read it when run by
 * hand: as its arguments (`set -- …`, every value one quoted word), its getopts options, or the
 * variable it read. POSIX sh, no eval: a value is never code.
 */

export const PROLOGUE_START =
  '# opsbook promote: the runner passes each param in the environment as OPSBOOK_PARAM_<NAME>';
export const PROLOGUE_END = '# end of the lines opsbook promote added';

/** The variable that carries `param` (as @opsbook/exec's paramEnvName names it). */
export function paramVariable(param: Pick<DetectedParam, 'name'>): string {
  return `OPSBOOK_PARAM_${param.name.toUpperCase()}`;
}

const isSet = (p: DetectedParam) => `[ -n "\${${paramVariable(p)}+set}" ]`;
const value = (p: DetectedParam) => `"$${paramVariable(p)}"`;
const valueOrEmpty = (p: DetectedParam) => `"\${${paramVariable(p)}-}"`;
/** Whether the runner always sets it: it is required or has a default. */
const isAlwaysSet = (p: DetectedParam) => p.required || p.default !== undefined;

export function renderPrologue(params: readonly DetectedParam[]): string[] {
  const argv = argumentLines(params);
  const env = params.flatMap((p) =>
    p.source.kind === 'env'
      ? [`if ${isSet(p)}; then ${p.source.variable}=${value(p)}; export ${p.source.variable}; fi`]
      : [],
  );
  if (argv.length === 0 && env.length === 0) return [];
  return [
    PROLOGUE_START,
    '# (never written into this script); these lines give them to the script as it read them',
    '# when it was run by hand.',
    ...argv,
    ...env,
    PROLOGUE_END,
  ];
}

function argumentLines(params: readonly DetectedParam[]): string[] {
  const options = params.filter((p) => p.source.kind === 'option');
  const positional = params.filter((p) => p.source.kind === 'positional');
  const rest = params.find((p) => p.source.kind === 'rest');
  // Read before the getopts loop and shifted away before it: they come first, every one a word.
  const leading = params.filter((p) => p.source.kind === 'leading');
  if (!options.length && !positional.length && !rest && !leading.length) return [];
  const lines: string[] =
    options.length || leading.length
      ? [['set --', ...leading.map((p) => (isAlwaysSet(p) ? value(p) : valueOrEmpty(p)))].join(' ')]
      : [];
  for (const p of options) {
    if (p.source.kind !== 'option') continue;
    const flag = `-${p.source.letter}`;
    if (!p.source.takesValue)
      lines.push(`if [ ${valueOrEmpty(p)} = true ]; then set -- "$@" ${flag}; fi`);
    else if (isAlwaysSet(p)) lines.push(`set -- "$@" ${flag} ${value(p)}`);
    else lines.push(`if ${isSet(p)}; then set -- "$@" ${flag} ${value(p)}; fi`);
  }
  // Arguments cannot be skipped: the ones up to the last that is always given are passed (an
  // unset one as an empty word); after it, each one when it or a later one is given.
  const lastFixed = positional.findLastIndex(isAlwaysSet);
  const fixed = positional
    .slice(0, lastFixed + 1)
    .map((p) => (isAlwaysSet(p) ? value(p) : valueOrEmpty(p)));
  const trailing = positional.slice(lastFixed + 1);
  // After the options, `--` ends them: getopts stops there, whatever the operands hold.
  if (!options.length) lines.push(['set --', ...fixed].join(' '));
  else if (positional.length || rest) lines.push(['set -- "$@" --', ...fixed].join(' '));
  for (const [k, p] of trailing.entries()) {
    const later = trailing.slice(k).map(isSet);
    if (rest) later.push(`[ -n ${valueOrEmpty(rest)} ]`);
    lines.push(`if ${later.join(' || ')}; then set -- "$@" ${valueOrEmpty(p)}; fi`);
  }
  if (rest)
    lines.push(
      '# shellcheck disable=SC2086 # split into words on purpose, with globbing off',
      `set -f; set -- "$@" $${paramVariable(rest)}; set +f`,
    );
  return lines;
}
