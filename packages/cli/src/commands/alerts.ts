import { readFile } from 'node:fs/promises';
import { AlertIntake, type AlertRecord, alertStoreOf, parseWebhookBody } from '@opsbook/alerts';
import { ValidationError } from '@opsbook/schema';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

const WEEK_MS = 7 * 86_400_000;

async function readPayload(file: string): Promise<{ source: string; bytes: Buffer }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { source: '(stdin)', bytes: Buffer.concat(chunks) };
  }
  try {
    return { source: file, bytes: await readFile(file) };
  } catch (e) {
    throw ValidationError.single(
      file,
      `cannot read the payload (${(e as NodeJS.ErrnoException).code}): give a file holding one Alertmanager webhook body, or - for stdin`,
      'missing-file',
    );
  }
}

export const ingest = defineCommand({
  args: '<FILE|->…',
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  details: `Each FILE holds one Alertmanager webhook body (version 4), as serve receives it; - reads
one from stdin. Every payload is checked before any is stored: one that is not valid stores
nothing and names each problem at its line and column. Alerts already stored (same
fingerprint, startsAt and status) are counted, not stored again.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const records: AlertRecord[] = [];
    const now = new Date();
    for (const file of ctx.positionals) {
      const { source, bytes } = await readPayload(file);
      records.push(...parseWebhookBody(bytes, now, source));
    }
    const store = alertStoreOf(config);
    try {
      const intake = new AlertIntake(store);
      await intake.warm(new Date(now.getTime() - WEEK_MS));
      const result = await intake.accept(records);
      if (ctx.out.json) ctx.out.printJson({ ...result, store: store.location });
      else
        ctx.out.print(
          `stored ${result.accepted} alert(s) in ${store.location}${result.duplicates ? `; ${result.duplicates} already stored` : ''}`,
        );
      return exitCodes.ok;
    } finally {
      await store.close();
    }
  },
});
