import { exitCodes } from './exit-code.js';

/**
 * Ask for a secret on the terminal without echoing it; undefined when no person is there, or when
 * they end the input (Ctrl-D): the caller then refuses as for an unset secret. Ctrl-C exits 130
 * at once: the question comes before any run is claimed or host touched. (The terminal is raw
 * while asking, so Ctrl-C reaches readline, not the process: unheard, it ended opsbook with exit 0.)
 */
export async function askSecret(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const { createInterface } = await import('node:readline');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) write.call(rl, question);
    };
    let answered = false;
    rl.on('SIGINT', () => {
      rl.close();
      process.stderr.write('\ninterrupted: nothing was run\n');
      process.exit(exitCodes.interrupted);
    });
    rl.on('close', () => {
      if (answered) return;
      process.stderr.write('\n');
      resolve(undefined);
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/**
 * Ask a question on the terminal and return the answer typed; undefined when no person is there
 * (stdin or stderr is not a terminal): a script is never held by a question. Ctrl-C exits 130 at
 * once, saying `interrupted: <unchanged>` (what was left undone): an interruption, as README's
 * exit table has it, not an answer (readline closed on it, and the caller took it for a no).
 */
export async function askLine(question: string, unchanged: string): Promise<string | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const { createInterface } = await import('node:readline');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    rl.on('SIGINT', () => {
      rl.close();
      process.stderr.write(`\ninterrupted: ${unchanged}\n`);
      process.exit(exitCodes.interrupted);
    });
    rl.on('close', () => resolve(''));
    rl.question(question, (answer) => {
      resolve(answer);
      rl.close();
    });
  });
}
