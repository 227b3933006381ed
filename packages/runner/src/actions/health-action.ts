import path from 'node:path';
import { healthReportAction } from '@opsbook/health-report';
import type { BuiltinAction } from './actions.js';

/**
 * `health.report`: build the health report from the run's state store (HTML, Markdown, JSON)
 * into `<stateDir>/reports/<runId>/`. The step's result carries the files and the Markdown, which
 * the ticket gate posts to the run's (recurring) ticket and attaches at the end of the run.
 */
export const healthReportBuiltin: BuiltinAction = {
  name: healthReportAction.name,
  description: healthReportAction.description,
  withSchema: healthReportAction.withSchema,
  async run(ctx) {
    const outputDir = path.join(ctx.stateDir, 'reports', ctx.runId);
    const out = await healthReportAction.run({
      stateDir: ctx.stateDir,
      // The configured store (PostgreSQL in team mode), not always the files in stateDir.
      ...(ctx.store ? { store: ctx.store } : {}),
      now: new Date(),
      with: ctx.with,
      outputDir,
    });
    ctx.onStdout(
      `${out.summary ? `${JSON.stringify(out.summary)}\n` : ''}${out.files.map((f) => `wrote ${f}`).join('\n')}\n`,
    );
    return {
      status: 'ok',
      result: { files: out.files, markdown: out.markdown, summary: out.summary },
    };
  },
};
