/**
 * The catalog page's CSS and script, inlined into index.html (no file and no network: it works
 * from file://). The script filters the runbooks as the reader types (every word must appear in
 * a runbook's name, title, description, owners, tags, params or steps), keeps the count and the
 * index in step, and opens the runbook a link (`#runbook-NAME`) points at.
 */

export const CATALOG_CSS = `
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--accent:#0969da;--change:#b35900;--incident:#c62828;--routine:#1a7f37}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);background:#fff}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:14px 24px 10px;z-index:1}
h1{font-size:22px;margin:0 0 2px}
.sub{color:var(--muted);margin:0 0 8px}
#search{font:inherit;font-size:15px;padding:7px 10px;border:1px solid var(--line);border-radius:6px;width:min(560px,100%)}
#count{color:var(--muted);margin:6px 0 0}
main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}
.notes{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;padding:8px 14px;margin:0 0 14px}
.notes p{margin:4px 0}
article.runbook{border:1px solid var(--line);border-radius:8px;margin:0 0 10px}
article.runbook>details>summary{cursor:pointer;padding:10px 14px;list-style-position:outside;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
article.runbook>details[open]>summary{border-bottom:1px solid var(--line);background:var(--bg)}
.rb-name{font-weight:600;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.rb-version{color:var(--muted);font-variant-numeric:tabular-nums}
.rb-title{flex:1 1 300px}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;background:var(--muted)}
.pill.change{background:var(--change)}.pill.incident{background:var(--incident)}.pill.routine{background:var(--routine)}
.pill.grade{background:#57606a}
.body{padding:6px 16px 14px}
.body h3{font-size:15px;margin:16px 0 6px}
.body h4{font-size:13px;margin:12px 0 4px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.description{white-space:pre-wrap;margin:8px 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{background:var(--bg);font-weight:600;white-space:nowrap}
ol.steps{margin:4px 0;padding-left:22px}
ol.steps li{margin:0 0 8px}
.step-id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600}
.flags{color:var(--muted);font-size:12px}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:4px 0;overflow-x:auto;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
a{color:var(--accent)}
.empty{color:var(--muted);font-style:italic}
section.version{border-left:3px solid var(--line);padding-left:12px;margin:10px 0}
section.version.current{border-left-color:var(--accent)}
footer{color:var(--muted);font-size:12px;margin-top:30px}
@media print{header{position:static}#search,#count{display:none}details{display:block}}
`;

export const CATALOG_SCRIPT = `(() => {
  'use strict';
  const input = document.getElementById('search');
  const count = document.getElementById('count');
  const none = document.getElementById('no-match');
  const articles = Array.from(document.querySelectorAll('article.runbook'));
  const total = articles.length;
  const noun = (n) => n + (n === 1 ? ' runbook' : ' runbooks');
  function apply() {
    const words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    let shown = 0;
    for (const article of articles) {
      const text = article.getAttribute('data-search') || '';
      const isMatch = words.every((w) => text.includes(w));
      article.hidden = !isMatch;
      if (isMatch) shown++;
    }
    count.textContent = words.length ? shown + ' of ' + noun(total) + ' match' : noun(total);
    none.hidden = shown > 0;
  }
  function openLinked() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id ? document.getElementById(id) : null;
    if (!target || !target.classList.contains('runbook')) return;
    if (target.hidden) {
      input.value = '';
      apply();
    }
    target.querySelector('details').open = true;
    target.scrollIntoView();
  }
  input.addEventListener('input', apply);
  window.addEventListener('hashchange', openLinked);
  apply();
  openLinked();
})();
`;
