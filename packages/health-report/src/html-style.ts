/** The report's own CSS: readable on screen, tidy on paper (`@media print`). */
export const REPORT_CSS = `
:root{--ok:#1a7f37;--warn:#b35900;--crit:#c62828;--unknown:#6b6f76;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.sub{color:var(--muted);margin:0 0 16px}
.notes{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;padding:10px 14px;margin:12px 0}
.notes p{margin:4px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:var(--bg)}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:26px;font-weight:600;margin-top:2px}
.card .hint{color:var(--muted);font-size:12px}
.s-ok{color:var(--ok)}.s-warn{color:var(--warn)}.s-crit{color:var(--crit)}.s-unknown{color:var(--unknown)}
.badge{display:inline-block;min-width:52px;text-align:center;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}.badge.crit{background:var(--crit)}.badge.unknown{background:var(--unknown)}
.empty{color:var(--muted);font-style:italic;border:1px dashed var(--line);border-radius:6px;padding:14px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
#findings td:not(:nth-child(6)){white-space:nowrap}
td{overflow-wrap:anywhere}
table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
.filter{margin:6px 0 10px;display:flex;gap:10px;align-items:center}
.filter input{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px;width:320px}
.filter .count{color:var(--muted)}
.two{display:grid;grid-template-columns:1fr 1fr;gap:20px}
.chart{min-height:60px}
#heatmap-wrap{position:relative;overflow-x:auto}
#heat-tip{position:absolute;pointer-events:none;background:#1f2328;color:#fff;font-size:12px;padding:3px 6px;border-radius:4px;display:none;white-space:nowrap}
.legend{display:flex;gap:14px;align-items:center;color:var(--muted);font-size:12px;margin-top:6px}
.legend i{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
.headline{border-radius:8px;padding:12px 16px;margin:14px 0;border:1px solid var(--line);background:var(--bg)}
.headline .headline-text{font-size:17px;font-weight:600;margin:0}
.headline ul{margin:8px 0 4px;padding-left:20px}
.headline.urgent{background:#fdecea;border-color:#e8a5a0}.headline.urgent .headline-text{color:var(--crit)}
.headline.attention{background:#fff4e5;border-color:#f0c088}.headline.attention .headline-text{color:var(--warn)}
.headline.healthy{background:#eaf6ec;border-color:#9fd3a8}.headline.healthy .headline-text{color:var(--ok)}
.host-chart{margin:12px 0 18px;break-inside:avoid}
.host-chart figcaption{margin-bottom:4px}
.panels{display:flex;flex-wrap:wrap;gap:14px}
.panel{width:340px}
.panel-title{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
svg.usage{display:block;max-width:100%;height:auto}
svg.usage .tick{font:10px system-ui,sans-serif;fill:var(--muted)}
svg.usage .crossing-label{fill:var(--crit);font-weight:600}
.series-legend{list-style:none;margin:2px 0 0;padding:0;font-size:12px}
.series-legend i{display:inline-block;width:12px;height:3px;margin-right:5px;vertical-align:middle}
.series-legend .fit{color:var(--muted)}
footer{margin-top:36px;color:var(--muted);font-size:12px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
@media (max-width:800px){.two{grid-template-columns:1fr}}
@media print{
  @page{margin:14mm}
  body{font-size:11px}
  main{max-width:none;padding:0}
  .filter,.no-print{display:none}
  .card,.chart,tr,.notes,.headline,.panel{break-inside:avoid}
  h2{break-after:avoid}
  .two{grid-template-columns:1fr 1fr}
  #heatmap-wrap{overflow:visible}
  canvas{max-width:100%!important;height:auto!important}
  .badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .card{background:none}
}
`;
