import { createHash } from 'node:crypto';
import { escapeHtml as h } from '@opsbook/health-report';
import { CATALOG_CSS, CATALOG_SCRIPT } from './catalog-page-assets.js';
import type {
  Catalog,
  CatalogParam,
  CatalogRunbook,
  CatalogStep,
  CatalogVersion,
} from './runbook-catalog.js';

/**
 * The catalog as one self-contained index.html: its CSS and script inline, a
 * Content-Security-Policy that allows exactly those two by hash and nothing from anywhere, so the
 * page works from file:// and offline. Every text of a runbook, its changelog and the history is
 * the author's or a host's and enters the page only through `escapeHtml`: a description holding
 * `<script>` is shown as text and never runs.
 */

/** Runs listed per version (the newest); the count says how many more there are. */
export const RUNS_SHOWN = 20;

export function renderCatalogHtml(catalog: Catalog, options: { title?: string } = {}): string {
  const title = options.title ?? 'Runbook catalog';
  const csp = [
    "default-src 'none'",
    `script-src ${sha256Source(CATALOG_SCRIPT)}`,
    `style-src ${sha256Source(CATALOG_CSS)}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const n = catalog.runbooks.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="opsbook catalog">
<title>${h(title)}</title>
<style>${CATALOG_CSS}</style>
</head><body>
<header>
<h1>${h(title)}</h1>
<p class="sub">${n} runbook${n === 1 ? '' : 's'} · generated ${h(catalog.generatedAt.replace('T', ' ').slice(0, 16))} UTC · ${h(historyLine(catalog))}</p>
<input id="search" type="search" placeholder="Search: name, title, owner, tag, param, command…" aria-label="Search the runbooks" aria-controls="runbooks" autocomplete="off" spellcheck="false">
<p id="count" aria-live="polite">${n} runbook${n === 1 ? '' : 's'}</p>
</header>
<main>
${renderNotes(catalog)}<section id="runbooks">
${catalog.runbooks.map(renderRunbook).join('\n')}
</section>
<p id="no-match" class="empty" hidden>No runbook matches: try fewer words.</p>
<footer><p>Made by opsbook catalog. A runbook's digest is what an approval binds: a changed byte, file or version gives a new one.</p></footer>
</main>
<script>${CATALOG_SCRIPT}</script>
</body></html>
`;
}

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function historyLine(catalog: Catalog): string {
  if (!catalog.store) return 'no run history read';
  const runs = catalog.runbooks.reduce((k, r) => k + r.runs, 0);
  return `${runs} run${runs === 1 ? '' : 's'} from the ${catalog.store.kind} state store (${catalog.store.location})`;
}

function renderNotes(catalog: Catalog): string {
  const notes = [
    ...catalog.broken.map(
      (b) =>
        `<p><b>${h(b.name)}</b> does not load (opsbook validate ${h(b.name)}): ${h(b.problems[0] ?? '')}${b.problems.length > 1 ? ` and ${b.problems.length - 1} more` : ''}</p>`,
    ),
    ...catalog.otherRunbooks.map(
      (o) =>
        `<p>The history has ${o.runs} run${o.runs === 1 ? '' : 's'} of <b>${h(o.name)}</b>, which this repository does not have (renamed or removed).</p>`,
    ),
    ...catalog.leftOut.map(
      (l) => `<p>Run <code>${h(l.runId)}</code> is left out: ${h(l.reason)}.</p>`,
    ),
  ];
  return notes.length ? `<div class="notes">${notes.join('')}</div>\n` : '';
}

/** What the search box matches: every text a reader might type to find the runbook. */
function searchText(r: CatalogRunbook): string {
  return [
    r.name,
    r.title,
    r.description ?? '',
    r.category,
    r.grade,
    ...r.owners,
    ...r.tags,
    ...r.params.flatMap((p) => [p.name, p.description ?? '']),
    ...r.phases.flatMap((p) => p.steps.flatMap((s) => [s.id, s.name, s.text])),
  ]
    .join(' ')
    .toLowerCase()
    .replace(/\s+/g, ' ');
}

function renderRunbook(r: CatalogRunbook): string {
  return `<article class="runbook" id="runbook-${h(r.name)}" data-search="${h(searchText(r))}">
<details>
<summary><span class="rb-name">${h(r.name)}</span> <span class="rb-version">${h(r.version)}</span> <span class="pill ${h(r.category)}">${h(r.category)}</span> <span class="pill grade">${h(r.grade)}</span> <span class="rb-title">${h(r.title)}</span></summary>
<div class="body">
${r.description ? `<p class="description">${h(r.description.trim())}</p>` : '<p class="empty">No description.</p>'}
<dl class="facts">
${r.owners.length ? `<dt>Owners</dt><dd>${h(r.owners.join(', '))}</dd>` : ''}
${r.tags.length ? `<dt>Tags</dt><dd>${h(r.tags.join(', '))}</dd>` : ''}
<dt>Targets</dt><dd>${r.targets.default ? `default <code>${h(r.targets.default)}</code>` : 'no default: --target is required'}, concurrency ${r.targets.concurrency}, maxFailures ${r.targets.maxFailures}</dd>
<dt>Digest</dt><dd><code>${h(r.digest)}</code></dd>
<dt>Runs</dt><dd>${r.runs ? `${r.runs}, last ${h(short(r.lastRunAt))}` : 'none in the history'}</dd>
</dl>
<h3>Params</h3>
${renderParams(r.params)}
${r.phases.map((p) => `<h3>${h(p.title)}</h3>\n<ol class="steps">${p.steps.map(renderStep).join('')}</ol>`).join('\n')}
${renderComposition(r)}
<h3>Versions</h3>
${r.versions.map(renderVersion).join('\n')}
</div>
</details>
</article>`;
}

function renderParams(params: readonly CatalogParam[]): string {
  if (!params.length) return '<p class="empty">No params.</p>';
  const rows = params.map(
    (p) =>
      `<tr><td><code>${h(p.name)}</code></td><td>${h(p.type)}</td><td>${defaultOf(p)}</td><td>${p.secret ? 'secret' : ''}</td><td>${h(p.description ?? '')}${p.rules.length ? ` <span class="flags">(${h(p.rules.join('; '))})</span>` : ''}</td></tr>`,
  );
  return `<table class="params"><thead><tr><th>Name</th><th>Type</th><th>Default</th><th>Secret</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function defaultOf(p: CatalogParam): string {
  if (p.secret) return '<span class="empty">from the environment</span>';
  if (p.default !== undefined) return `<code>${h(JSON.stringify(p.default))}</code>`;
  return p.required ? 'required' : '<span class="empty">none</span>';
}

function renderStep(s: CatalogStep): string {
  const head = `<span class="step-id">${h(s.id)}</span> — ${h(s.name)}${s.flags.length ? ` <span class="flags">[${h(s.flags.join(', '))}]</span>` : ''}`;
  if (s.action === 'run') return `<li>${head}<pre>${h(s.text)}</pre></li>`;
  if (s.action === 'script') return `<li>${head}<div>script: <code>${h(s.text)}</code></div></li>`;
  const uses = s.composes
    ? `runs runbook <a href="#runbook-${h(s.composes.name)}">${h(s.composes.name)}</a> <code>@${h(s.composes.range)}</code>`
    : `uses: <code>${h(s.text)}</code>`;
  const withText =
    s.with !== undefined ? `<pre>with: ${h(JSON.stringify(s.with, null, 2))}</pre>` : '';
  return `<li>${head}<div>${uses}</div>${withText}</li>`;
}

function renderComposition(r: CatalogRunbook): string {
  const parts: string[] = [];
  if (r.composes.length)
    parts.push(
      `<h3>Composes</h3><ul>${r.composes
        .map(
          (c) =>
            `<li>${c.isKnown ? `<a href="#runbook-${h(c.name)}">${h(c.name)}</a>` : `${h(c.name)} <span class="empty">(not in this repository)</span>`} <code>@${h(c.range)}</code></li>`,
        )
        .join('')}</ul>`,
    );
  if (r.composedBy.length)
    parts.push(
      `<h3>Used by</h3><ul>${r.composedBy.map((n) => `<li><a href="#runbook-${h(n)}">${h(n)}</a></li>`).join('')}</ul>`,
    );
  return parts.join('\n');
}

function renderVersion(v: CatalogVersion): string {
  const changes = v.changes.length
    ? `<ul>${v.changes.map((c) => `<li>${h(c)}</li>`).join('')}</ul>`
    : '<p class="empty">No CHANGELOG entry.</p>';
  const approvals = v.approvals.length
    ? `<table class="approvals"><thead><tr><th>Approval</th><th>Tickets</th><th>Signed by</th><th>Runs</th></tr></thead><tbody>${v.approvals
        .map(
          (a) =>
            `<tr><td><code>${h(a.id)}</code></td><td>${h(a.tickets.join(', '))}</td><td>${h(a.signers.join(', '))}</td><td>${a.runs}${a.maxRuns !== null ? ` of ${a.maxRuns}` : ''}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const runs = v.runs.length
    ? `<table class="runs"><thead><tr><th>Run</th><th>Ticket</th><th>Status</th><th>Started</th><th>Hosts</th><th>By</th></tr></thead><tbody>${v.runs
        .slice(0, RUNS_SHOWN)
        .map(
          (x) =>
            `<tr><td><code>${h(x.runId)}</code></td><td>${h(x.ticket ?? '')}</td><td>${h(x.status)}</td><td>${h(short(x.startedAt))}</td><td>${x.hosts}</td><td>${h(x.executor ?? '')}</td></tr>`,
        )
        .join(
          '',
        )}</tbody></table>${v.runs.length > RUNS_SHOWN ? `<p class="empty">and ${v.runs.length - RUNS_SHOWN} older runs (opsbook runs list --runbook …)</p>` : ''}`
    : '<p class="empty">Not run.</p>';
  return `<section class="version${v.isCurrent ? ' current' : ''}"><h4>${h(v.version)}${v.isCurrent ? ' (current)' : ''}</h4>
${changes}
${v.digests.length ? `<p class="flags">digest ${v.digests.map((d) => `<code>${h(d)}</code>`).join(', ')}</p>` : ''}
${approvals}
${runs}
</section>`;
}

function short(time: string | null): string {
  return time ? `${time.replace('T', ' ').slice(0, 16)} UTC` : '';
}
