import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  AlertProcessor,
  alertStoreOf,
  isLoopback,
  type ProcessorEvent,
  type ReceiverAuth,
  type ReceiverEvent,
  startAlertReceiver,
} from '@opsbook/alerts';
import { UsageError, ValidationError } from '@opsbook/schema';
import { type CommandContext, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import type { Output } from '../output.js';
import { showControls as terminalSafe } from '../terminal-safe.js';
import {
  pipelineFor,
  pipelineOptions,
  processedText,
  rulesFileOf,
  rulesFor,
} from './alerts-pipeline.js';
import { RulesReloader } from './alerts-rules-reload.js';

export const DEFAULT_LISTEN = '127.0.0.1:9097';

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (loopback); port 0 picks a free one. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65_535)
    throw new UsageError(
      `--listen ${text} is not HOST:PORT: write e.g. 127.0.0.1:9097, [::1]:9097, or 127.0.0.1:0 for a free port`,
    );
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

async function secretFrom(
  file: string | undefined,
  env: string | undefined,
  what: string,
  envName: string,
  warn: (text: string) => void,
): Promise<string | undefined> {
  let value = env;
  if (file) {
    try {
      value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      // As ssh says of a private key others can read: anyone on this machine could post alerts.
      const { mode } = await stat(file);
      if ((mode & 0o077) !== 0)
        warn(
          `warning: the ${what} file ${file} can be read or changed by other users of this machine (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${file}`,
        );
    } catch (e) {
      throw ValidationError.single(
        file,
        `cannot read the ${what} file (${(e as NodeJS.ErrnoException).code}): give a file holding only the ${what}`,
        'missing-file',
      );
    }
  }
  if (value === undefined) return undefined;
  if (value.trim() === '')
    throw new UsageError(
      `the ${what} is empty: put it in ${file ?? envName} (never on the command line)`,
    );
  return value;
}

/** Bearer token or basic auth from the environment or files; never from argv. */
export async function receiverAuthOf(ctx: CommandContext): Promise<ReceiverAuth | undefined> {
  const token = await secretFrom(
    stringOption(ctx, 'token-file'),
    process.env.OPSBOOK_ALERTS_TOKEN,
    'bearer token',
    'OPSBOOK_ALERTS_TOKEN',
    (text) => ctx.out.note(terminalSafe(text)),
  );
  const username = stringOption(ctx, 'basic-user');
  if (token && username)
    throw new UsageError(
      'give a bearer token (--token-file or OPSBOOK_ALERTS_TOKEN) or --basic-user, not both: Alertmanager sends one of them',
    );
  if (token) return { kind: 'bearer', token };
  if (!username) {
    if (stringOption(ctx, 'password-file'))
      throw new UsageError('--password-file needs --basic-user NAME');
    return undefined;
  }
  const password = await secretFrom(
    stringOption(ctx, 'password-file'),
    process.env.OPSBOOK_ALERTS_PASSWORD,
    'basic auth password',
    'OPSBOOK_ALERTS_PASSWORD',
    (text) => ctx.out.note(terminalSafe(text)),
  );
  if (!password)
    throw new UsageError(
      `--basic-user ${username} needs its password in OPSBOOK_ALERTS_PASSWORD or --password-file FILE`,
    );
  return { kind: 'basic', username, password };
}

function maxBodyOf(ctx: CommandContext): number | undefined {
  const text = stringOption(ctx, 'max-body');
  if (text === undefined) return undefined;
  const m = /^([1-9][0-9]*)(k|m)?$/i.exec(text);
  if (!m)
    throw new UsageError(`--max-body ${text} is not a size: write bytes, or e.g. 512k or 16m`);
  const unit = m[2]?.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

function logEvent(out: Output, verbose: boolean) {
  return (e: ReceiverEvent) => {
    if (e.type === 'accepted') {
      if (verbose)
        out.note(
          `accepted ${e.alerts} alert(s) from ${e.from}: ${e.accepted} stored, ${e.duplicates} already stored`,
        );
    } else if (e.type === 'refused') {
      out.note(`refused ${e.status} from ${e.from}: ${terminalSafe(e.reason)}`);
    } else {
      out.note(`could not store alerts from ${e.from} (answered 503): ${terminalSafe(e.message)}`);
    }
  };
}

function logProcessed(out: Output) {
  const next = (ms: number | undefined) =>
    ms === undefined ? 'later' : `in ${ms >= 10_000 ? Math.round(ms / 1000) : ms / 1000} s`;
  return (e: ProcessorEvent) => {
    if (e.type === 'failed')
      out.note(
        `alert processing failed, retrying ${next(e.retryInMs)}: ${terminalSafe(e.message)}`,
      );
    else {
      for (const line of processedText(e.converged, e.dispatched)) out.note(terminalSafe(line));
      if (e.retryInMs !== undefined) out.note(`next dispatch pass ${next(e.retryInMs)}`);
    }
  };
}

export const serve = defineCommand({
  options: {
    ...pipelineOptions,
    listen: {
      type: 'string',
      value: 'HOST:PORT',
      description: `where to listen (default ${DEFAULT_LISTEN}; port 0 picks a free one)`,
    },
    'token-file': {
      type: 'string',
      value: 'FILE',
      description: 'require this bearer token (else OPSBOOK_ALERTS_TOKEN, if set)',
    },
    'basic-user': {
      type: 'string',
      value: 'NAME',
      description: 'require basic auth as NAME; the password from OPSBOOK_ALERTS_PASSWORD',
    },
    'password-file': {
      type: 'string',
      value: 'FILE',
      description: "with --basic-user: the password's file instead of the environment",
    },
    'max-body': {
      type: 'string',
      value: 'SIZE',
      description: 'largest request accepted, e.g. 16m (default 8m); larger ones get 413',
    },
    verbose: { type: 'boolean', description: 'log every accepted request on stderr' },
  },
  details: `Point Alertmanager at it (docs/alerts.md):
  receivers:
    - name: opsbook
      webhook_configs:
        - url: http://127.0.0.1:9097/alerts
          http_config: {authorization: {credentials_file: /etc/alertmanager/opsbook.token}}

With alerts.yaml (--rules), the alerts are converged into incidents, graded, and dispatched as
one ticket per incident soon after they are stored; without it they are only stored.
alerts.yaml (and the on-call files and inventory it uses) is looked at before each pass and
reloaded when it changed (rules reloaded: alerts.yaml version N); a new file that does not load
keeps the last good rules and logs its problems once. SIGHUP reloads at once.
The first line on stdout is the address it listens on (listening on http://HOST:PORT/). Each
accepted alert is stored (fsync, or a committed transaction in the team's PostgreSQL) before
the answer; a retry of the same alert (fingerprint and startsAt) is stored once. A body that is
not an Alertmanager version 4 payload gets 400, one larger than --max-body 413, wrong
credentials 401; each refusal is logged on stderr. Alerts the store cannot write (a full disk)
get 503 and none of them is kept: Alertmanager retries, and the retry is stored. Listening
beyond loopback needs a bearer token or basic auth. SIGTERM or Ctrl-C stops taking
connections, lets requests in flight finish, and exits.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const { host, port } = parseListen(stringOption(ctx, 'listen') ?? DEFAULT_LISTEN);
    const auth = await receiverAuthOf(ctx);
    if (!auth && !isLoopback(host))
      throw new UsageError(
        `--listen ${host} is reachable from other machines: require credentials (--token-file FILE or OPSBOOK_ALERTS_TOKEN, or --basic-user NAME) or listen on 127.0.0.1`,
      );
    const maxBodyBytes = maxBodyOf(ctx);
    const store = alertStoreOf(config);
    const inventoryFile = stringOption(ctx, 'inventory') ?? config.inventory;
    const reloader = new RulesReloader(rulesFileOf(ctx, config), {
      load: async () => {
        const rules = await rulesFor(ctx, config, true);
        return rules && (await pipelineFor(ctx, config, store, rules));
      },
      watched: (pipeline) => [
        ...(pipeline?.rules.files ?? []),
        config.trustStore, // the people ownership names are checked against
        ...(inventoryFile ? [path.resolve(inventoryFile)] : []),
      ],
      note: (line) => ctx.out.note(terminalSafe(line)),
    });
    let stopped: (signal: NodeJS.Signals) => void = () => undefined;
    const stopping = new Promise<NodeJS.Signals>((resolve) => {
      stopped = resolve;
    });
    process.once('SIGTERM', stopped);
    process.once('SIGINT', stopped);
    let processor: AlertProcessor | undefined;
    const hangup = () => {
      reloader.force();
      processor?.schedule(0);
    };
    process.on('SIGHUP', hangup);
    try {
      const first = await reloader.start();
      // alerts.yaml is looked at before every pass: written or edited later, it is reloaded.
      processor = new AlertProcessor(() => reloader.current(), {
        onEvent: logProcessed(ctx.out),
      });
      const receiver = await startAlertReceiver({
        store,
        host,
        port,
        ...(auth ? { auth } : {}),
        ...(maxBodyBytes ? { maxBodyBytes } : {}),
        onEvent: logEvent(ctx.out, Boolean(ctx.options.verbose)),
        onStored: () => processor?.schedule(),
      });
      ctx.out.print(`listening on ${receiver.url}`);
      ctx.out.note(`storing alerts in ${store.location}`);
      processor.schedule(0); // what an earlier run left to converge or dispatch
      if (!first)
        ctx.out.note(
          `no ${rulesFileOf(ctx, config)}: alerts are stored, not converged into tickets until it is written (read before each pass; docs/alerts.md)`,
        );
      const signal = await stopping;
      ctx.out.note(`${signal}: finishing the requests in flight, then stopping`);
      await receiver.close();
      await processor?.close();
      return signal === 'SIGINT' ? exitCodes.interrupted : exitCodes.ok;
    } finally {
      process.removeListener('SIGTERM', stopped);
      process.removeListener('SIGINT', stopped);
      process.removeListener('SIGHUP', hangup);
      await store.close();
    }
  },
});
