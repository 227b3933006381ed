import { type CommandContext, type CommandSpec, parseCommandArgs } from './command.js';
import { type CommandEntry, commands, loadCommand } from './commands/registry.js';
import { describeError, exitCodes } from './exit-code.js';
import { FullBuildNeeded } from './full-build.js';
import { createOutput } from './output.js';
import { directStdio, type Stdio, streamStdio } from './stdio.js';
import { commandHelp, mainHelp } from './usage.js';

/** Find the command named by the leading words of argv (longest match: `trust init` before `trust`). */
function findCommand(argv: string[]): {
  entry?: CommandEntry;
  rest: string[];
  group?: string | undefined;
} {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const entry = commands.find((c) => c.name === name);
    if (entry) return { entry, rest: argv.filter((_, i) => i >= n) };
  }
  const group =
    words[0] && commands.some((c) => c.name.startsWith(`${words[0]} `)) ? words[0] : undefined;
  return { rest: argv, group };
}

/** How a command ended: its exit code, and whether the process may exit without draining. */
export interface Outcome {
  exitCode: number;
  /**
   * Nothing is left pending (help, usage errors, and commands marked `isDoneWhenResolved`), and
   * no output is still queued in the process.
   */
  isDone: boolean;
  /** The command needs the full build: bin.js runs it again from dist/main.mjs (full-build.ts). */
  rerunInFullBuild?: true;
}

export interface MainOptions {
  /** Write to file descriptors 1 and 2 directly (stdio.ts), not through process.stdout/stderr. */
  directStdio?: boolean;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<Outcome> {
  const stdio = options.directStdio ? directStdio() : streamStdio;
  let isDone = true;
  let exitCode: number;
  try {
    exitCode = await dispatch(argv, stdio, (spec) => {
      isDone = spec.isDoneWhenResolved === true;
    });
  } catch (e) {
    if (e instanceof FullBuildNeeded) return { exitCode: 0, isDone: false, rerunInFullBuild: true };
    throw e;
  }
  return { exitCode, isDone: isDone && !stdio.isPending() };
}

/**
 * `opsbook --config FILE list` as `opsbook list --config FILE`: the options every command takes
 * (--config, --json, --debug) may come before the command's name, as in most CLIs.
 */
function globalsAfterCommand(argv: string[]): string[] {
  const moved: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' || a === '--debug' || a.startsWith('--config=')) moved.push(a);
    else if (a === '--config' && i + 1 < argv.length) moved.push(a, argv[++i]!);
    else break;
  }
  return moved.length && i < argv.length ? [...argv.slice(i), ...moved] : argv;
}

async function dispatch(
  given: string[],
  stdio: Stdio,
  onLoaded: (spec: CommandSpec) => void,
): Promise<number> {
  const argv = globalsAfterCommand(given);
  const wantsJson = argv.includes('--json');
  const debug = argv.includes('--debug');
  const out = createOutput(wantsJson, process.env, stdio);
  try {
    const { entry, rest, group } = findCommand(argv);
    if (!entry) {
      if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
        const topic = argv[0] === 'help' ? argv.slice(1).join(' ') : '';
        if (topic) return dispatch([...argv.slice(1), '--help'], stdio, onLoaded);
        out.print(mainHelp(commands));
        return argv.length === 0 ? exitCodes.invalid : exitCodes.ok;
      }
      if (group) {
        const sub = argv[1];
        const asksHelp = sub === '--help' || sub === '-h';
        if (wantsJson && !asksHelp && (sub === undefined || sub.startsWith('-'))) {
          // One JSON document, as for any other usage mistake: not the group's help text.
          const { UsageError } = await import('@opsbook/schema');
          const names = commands.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name);
          throw new UsageError(
            `'opsbook ${group}' needs one of its commands (${names.join(', ')}): run opsbook ${group} --help`,
          );
        }
        if (sub === undefined || sub.startsWith('-')) {
          out.print(mainHelp(commands, `${group} `));
          return asksHelp ? exitCodes.ok : exitCodes.invalid;
        }
      }
      const { didYouMean, UsageError } = await import('@opsbook/schema');
      // `opsbook -i hosts.yaml inventory`: a command's own option typed before its name.
      const named = argv[0]?.startsWith('-')
        ? argv.findIndex((_, i) => i > 0 && findCommand(argv.slice(i)).entry)
        : -1;
      if (named > 0)
        throw new UsageError(
          `${argv.slice(0, named).join(' ')} comes before the command: only --config, --json and --debug may; write opsbook ${[...argv.slice(named), ...argv.slice(0, named)].join(' ')}`,
        );
      if (!group && argv[0]?.startsWith('-'))
        throw new UsageError(
          `no command after ${argv.join(' ')}: name one (opsbook ${argv.join(' ')} list), or run opsbook --help for the list`,
        );
      const typed = group ? `${group} ${argv[1]}` : (argv[0] ?? '');
      const names = commands.map((c) => c.name);
      // A misspelt group is read with its command (`tickt open`: ticket open).
      const two = !group && argv[1] && !argv[1].startsWith('-') ? `${argv[0]} ${argv[1]}` : '';
      const guess = didYouMean(typed, names) ?? (two ? didYouMean(two, names) : undefined);
      throw new UsageError(
        `unknown command '${typed}'${guess ? `: did you mean 'opsbook ${guess}'?` : ''}; run opsbook --help for the list`,
      );
    }
    const spec = await loadCommand(entry);
    onLoaded(spec);
    const { positionals, options } = parseCommandArgs(spec, rest);
    if (options.help) {
      out.print(commandHelp(spec));
      return exitCodes.ok;
    }
    const ctx: CommandContext = {
      positionals,
      options,
      out,
      global: { json: Boolean(options.json), debug, config: options.config as string | undefined },
    };
    return (await spec.run(ctx)) ?? exitCodes.ok;
  } catch (e) {
    if (e instanceof FullBuildNeeded) throw e;
    // A file where the state folder should be: the setting's mistake, named at its line.
    const { loadedConfig } = await import('./context.js');
    const { stateDirMistake } = await import('./state-dir-mistake.js');
    const reported = describeError(stateDirMistake(e, loadedConfig()) ?? e, debug);
    if (wantsJson) out.printJson(reported.json);
    out.note(reported.text);
    return reported.exitCode;
  }
}
