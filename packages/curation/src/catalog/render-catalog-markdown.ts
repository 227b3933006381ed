import { escapeMd } from '@opsbook/health-report';
import { RUNS_SHOWN } from './render-catalog-html.js';
import type { Catalog, CatalogRunbook, CatalogStep, CatalogVersion } from './runbook-catalog.js';

/**
 * The catalog as Markdown (catalog.md), for a wiki or a repository's docs: the same content as
 * the HTML page. Every text of a runbook is escaped (`escapeMd`: no link, table, HTML or
 * formatting can come from it); commands are in code fences longer than any backquote run in
 * them. Headings are the runbook names, so `#name` links to one.
 */

export function renderCatalogMarkdown(catalog: Catalog): string {
  const n = catalog.runbooks.length;
  const lines = [
    '# Runbook catalog',
    '',
    `${n} runbook${n === 1 ? '' : 's'}, generated ${catalog.generatedAt.replace('T', ' ').slice(0, 16)} UTC${catalog.store ? `; run history from the ${catalog.store.kind} state store (${escapeMd(catalog.store.location)})` : ''}.`,
    '',
  ];
  for (const b of catalog.broken)
    lines.push(`> **${escapeMd(b.name)}** does not load: ${escapeMd(b.problems[0] ?? '')}`, '');
  for (const l of catalog.leftOut)
    lines.push(`> Run \`${l.runId}\` is left out: ${escapeMd(l.reason)}.`, '');
  lines.push(
    '| runbook | version | category | grade | title |',
    '| --- | --- | --- | --- | --- |',
    ...catalog.runbooks.map(
      (r) =>
        `| [${r.name}](#${r.name}) | ${escapeMd(r.version)} | ${r.category} | ${r.grade} | ${escapeMd(r.title)} |`,
    ),
    '',
  );
  for (const r of catalog.runbooks) lines.push(...runbookLines(r));
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function runbookLines(r: CatalogRunbook): string[] {
  const lines = [
    `## ${r.name}`,
    '',
    `**${escapeMd(r.title)}** — version ${escapeMd(r.version)}, ${r.category}, ${r.grade}${r.owners.length ? `, owners ${escapeMd(r.owners.join(', '))}` : ''}${r.tags.length ? `, tags ${escapeMd(r.tags.join(', '))}` : ''}.`,
    '',
    ...(r.description ? [paragraphs(r.description), ''] : []),
    `Targets: ${r.targets.default ? `default ${code(r.targets.default)}` : 'no default (--target is required)'}, concurrency ${r.targets.concurrency}, maxFailures ${r.targets.maxFailures}. Digest ${code(r.digest)}.`,
    '',
    '### Params',
    '',
  ];
  if (r.params.length)
    lines.push(
      '| name | type | default | secret | description |',
      '| --- | --- | --- | --- | --- |',
      ...r.params.map(
        (p) =>
          `| ${cellCode(p.name)} | ${p.type} | ${p.secret ? 'from the environment' : p.default !== undefined ? cellCode(JSON.stringify(p.default)) : p.required ? 'required' : ''} | ${p.secret ? 'yes' : ''} | ${escapeMd(p.description ?? '')}${p.rules.length ? ` (${p.rules.map(cellCode).join('; ')})` : ''} |`,
      ),
    );
  else lines.push('No params.');
  lines.push('');
  for (const p of r.phases) {
    lines.push(`### ${p.title}`, '');
    p.steps.forEach((s, i) => {
      lines.push(...stepLines(s, i + 1), '');
    });
  }
  if (r.composes.length)
    lines.push(
      '### Composes',
      '',
      ...r.composes.map(
        (c) =>
          `- ${c.isKnown ? `[${c.name}](#${c.name})` : `${c.name} (not in this repository)`} ${code(`@${c.range}`)}`,
      ),
      '',
    );
  if (r.composedBy.length)
    lines.push('### Used by', '', ...r.composedBy.map((n) => `- [${n}](#${n})`), '');
  lines.push('### Versions', '');
  for (const v of r.versions) lines.push(...versionLines(v), '');
  return lines;
}

function stepLines(s: CatalogStep, n: number): string[] {
  const head = `${n}. ${code(s.id)} — ${escapeMd(s.name)}${s.flags.length ? ` [${escapeMd(s.flags.join(', '))}]` : ''}`;
  if (s.action === 'run') return [head, '', ...fenced(s.text, 'sh', '   ')];
  if (s.action === 'script') return [`${head} — script: ${code(s.text)}`];
  const uses = s.composes
    ? `runs runbook [${s.composes.name}](#${s.composes.name}) ${code(`@${s.composes.range}`)}`
    : `uses: ${code(s.text)}`;
  return [
    `${head} — ${uses}`,
    ...(s.with !== undefined
      ? ['', ...fenced(JSON.stringify(s.with, null, 2), 'json', '   ')]
      : []),
  ];
}

function versionLines(v: CatalogVersion): string[] {
  const lines = [`#### ${escapeMd(v.version)}${v.isCurrent ? ' (current)' : ''}`, ''];
  if (v.changes.length) lines.push(...v.changes.map((c) => `- ${escapeMd(c)}`), '');
  if (v.digests.length) lines.push(`Digest ${v.digests.map(code).join(', ')}.`, '');
  if (v.approvals.length)
    lines.push(
      '| approval | tickets | signed by | runs |',
      '| --- | --- | --- | --- |',
      ...v.approvals.map(
        (a) =>
          `| ${cellCode(a.id)} | ${escapeMd(a.tickets.join(', '))} | ${escapeMd(a.signers.join(', '))} | ${a.runs}${a.maxRuns !== null ? ` of ${a.maxRuns}` : ''} |`,
      ),
      '',
    );
  if (v.runs.length) {
    lines.push(
      '| run | ticket | status | started | hosts | by |',
      '| --- | --- | --- | --- | --- | --- |',
      ...v.runs
        .slice(0, RUNS_SHOWN)
        .map(
          (x) =>
            `| ${cellCode(x.runId)} | ${escapeMd(x.ticket ?? '')} | ${escapeMd(x.status)} | ${x.startedAt ? `${x.startedAt.replace('T', ' ').slice(0, 16)} UTC` : ''} | ${x.hosts} | ${escapeMd(x.executor ?? '')} |`,
        ),
    );
    if (v.runs.length > RUNS_SHOWN) lines.push('', `And ${v.runs.length - RUNS_SHOWN} older runs.`);
  } else lines.push('Not run.');
  return lines;
}

/** The author's text, line by line, escaped; blank lines keep its paragraphs. */
function paragraphs(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => escapeMd(l.trim()))
    .join('\n');
}

/** Inline code that holds any text: backquotes and line breaks cannot end or break it. */
function code(text: string): string {
  const one = text.replace(/[\r\n]+/g, ' ');
  const ticks = Math.max(0, ...[...one.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(ticks + 1);
  const pad = one.startsWith('`') || one.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${one}${pad}${fence}`;
}

/** `code` in a table cell: a `|` in it would end the cell. */
function cellCode(text: string): string {
  return code(text).replace(/\|/g, '\\|');
}

/** A fenced block longer than any backquote run of `text`, indented to sit in a list item. */
function fenced(text: string, lang: string, indent: string): string[] {
  const ticks = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(ticks + 1);
  return [
    `${indent}${fence}${lang}`,
    ...text.split('\n').map((l) => `${indent}${l}`),
    `${indent}${fence}`,
  ];
}
