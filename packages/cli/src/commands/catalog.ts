import path from 'node:path';
import {
  buildCatalog,
  type CatalogBroken,
  type CatalogSource,
  readCatalogHistory,
  renderCatalogHtml,
  renderCatalogMarkdown,
} from '@opsbook/curation';
import { loadCatalog, readVersionHistory } from '@opsbook/runner/catalog';
import {
  digestRunbook,
  formatProblem,
  makeDirectory,
  type Problem,
  UsageError,
  ValidationError,
  writeFilesAtomic,
} from '@opsbook/schema';
import { stateViewOf } from '@opsbook/state';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { damageJson, endOfView } from '../ledger-damage.js';
import { showControlsOnLine, showProblem } from '../terminal-safe.js';

export default defineCommand({
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      default: 'catalog',
      description: 'the folder to write index.html and catalog.md into (made if missing)',
    },
    title: {
      type: 'string',
      value: 'TEXT',
      description: 'the heading of the page (default: Runbook catalog)',
    },
  },
  details: `Writes the catalog of every runbook of this repository into --out:
  index.html   one self-contained page: search box (filters as you type, every word must match
               a runbook's name, title, description, owners, tags, params or steps), each
               runbook's details on a click; no file or network besides itself, works from
               file:// (its Content-Security-Policy allows only its own inline script and style)
  catalog.md   the same as Markdown, for a wiki or the repository's docs

For each runbook: title, description, category, grade, owners, tags, params (type, default,
secret, description, rules), targets, its steps by phase (prechecks, steps, postchecks, rollback,
evidence: run: commands, script: files, uses: actions with their with:, composed runbooks as
links), the runbooks it composes and that compose it, its digest, and its versions: each with
its CHANGELOG.md entry and the approvals (id, tickets, signers, runs of maxRuns) and runs
(ticket, status, start, hosts, executor) that used it, from the run history in the state store
(the state dir, or the team's PostgreSQL database). Every journal is verified; a run whose
journal does not verify is left out and named. Every text is escaped: a description holding
HTML shows as text. A runbook that does not load is left out, named with its problems
(file:line:col, as opsbook validate shows them), and the catalog exits 2 once written. Both
files are replaced or neither: when one cannot be written, the old ones stay.

Examples:
  opsbook catalog
  opsbook catalog --out public/runbooks --title "Ops runbooks"
  opsbook catalog --json > catalog.json`,
  async run(ctx) {
    const out = path.resolve(stringOption(ctx, 'out') ?? 'catalog');
    const title = stringOption(ctx, 'title');
    if (title !== undefined && !title.trim())
      throw new UsageError('--title is empty: give the heading, or leave --title out');
    const config = await configFor(ctx);
    const results = await loadCatalog(config);
    const sources: CatalogSource[] = [];
    const broken: CatalogBroken[] = [];
    // Each runbook left out, with its problems as validate shows them (file:line:col).
    const unloaded: { name: string; problems: readonly Problem[] }[] = [];
    for (const r of results) {
      if (!r.ok) {
        broken.push({ name: path.basename(r.dir), problems: r.problems.map(formatProblem) });
        unloaded.push({ name: path.basename(r.dir), problems: r.problems });
        continue;
      }
      // A bundle its digest refuses (a file that cannot be read) is named, as one that does not
      // load: one runbook does not take the catalog down.
      const digested = await digestRunbook(r.bundle.dir, r.bundle).catch((e: unknown) => {
        if (e instanceof ValidationError) return e;
        throw e;
      });
      if (digested instanceof ValidationError) {
        broken.push({
          name: path.basename(r.bundle.dir),
          problems: digested.problems.map(formatProblem),
        });
        unloaded.push({ name: path.basename(r.bundle.dir), problems: digested.problems });
        continue;
      }
      const changelog = await readVersionHistory(r.bundle.dir);
      sources.push({ bundle: r.bundle, digest: digested.digest, changelog });
    }
    const store = stateViewOf(config);
    const history = await readCatalogHistory(store);
    const catalog = buildCatalog(sources, history, { broken });
    await makeDirectory(out);
    const files = [path.join(out, 'index.html'), path.join(out, 'catalog.md')];
    // For publishing (a wiki, a static site): readable by all, as any file of the repository.
    const mode = 0o644;
    // Both or neither: a failure (a folder where catalog.md goes) leaves the old pair as it was,
    // never a new page beside an old catalog.md.
    await writeFilesAtomic(
      [
        { file: files[0]!, data: renderCatalogHtml(catalog, title ? { title } : {}) },
        { file: files[1]!, data: renderCatalogMarkdown(catalog) },
      ],
      { mode },
    );
    // Written all the same (the rest is worth reading), but a catalog that lacks a runbook does
    // not pass: published from CI, it would hide that runbook from everyone without a word.
    const exit = unloaded.length ? exitCodes.invalid : exitCodes.ok;
    if (ctx.out.json) {
      ctx.out.printJson({ files, catalog, ...damageJson(store) });
      return endOfView(ctx, store, exit);
    }
    const shown = (f: string) => path.relative(process.cwd(), f) || f;
    const runs = catalog.runbooks.reduce((n, r) => n + r.runs, 0);
    for (const b of unloaded) {
      ctx.out.note(`${showControlsOnLine(b.name)} does not load and is left out of the catalog:`);
      for (const p of b.problems) ctx.out.note(`  ${showProblem(p)}`);
    }
    for (const l of catalog.leftOut) ctx.out.note(`run ${l.runId} left out: ${l.reason}`);
    const written = `${catalog.runbooks.length} runbook${catalog.runbooks.length === 1 ? '' : 's'}, ${runs} run${runs === 1 ? '' : 's'} from the ${history.store.kind} state store`;
    ctx.out.print(
      [
        unloaded.length ? `wrote ${written}` : ctx.out.style.green(`✓ ${written}`),
        ...files.map((f) => `  ${shown(f)}`),
      ].join('\n'),
    );
    if (unloaded.length)
      ctx.out.note(
        ctx.out.style.red(
          `✗ ${unloaded.length === 1 ? '1 runbook did not load and is' : `${unloaded.length} runbooks did not load and are`} not in the catalog: fix ${unloaded.length === 1 ? 'it' : 'them'} (opsbook validate) and write the catalog again`,
        ),
      );
    return endOfView(ctx, store, exit);
  },
});
