/**
 * The dashboards' one stylesheet, served as /static/dashboard.css (the CSP allows no inline
 * style). Kept here as text so the build needs no copy step.
 */
export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --ink: #1d232a; --muted: #5f6b76; --line: #d5dbe1; --card: #f6f8fa; --accent: #1f6feb; --bad: #c62828; --good: #2e7d32; }
@media (prefers-color-scheme: dark) { :root { --ink: #e6edf3; --muted: #9aa7b4; --line: #30363d; --card: #161b22; --accent: #58a6ff; --bad: #f47067; --good: #57ab5a; } body { background: #0d1117; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 16px 20px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
h1 { font-size: 22px; margin: 4px 0 2px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.mono, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.break { word-break: break-all; }
header.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; border-bottom: 1px solid var(--line); padding-bottom: 8px; }
.status { margin-left: auto; font-size: 12px; }
.status[data-state="live"]::before { content: "\\25CF "; color: var(--good); }
.status[data-state="offline"]::before, .status[data-state="connecting"]::before { content: "\\25CF "; color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 10px; margin: 14px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.card .label { display: block; color: var(--muted); font-size: 12px; }
.card .value { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
canvas.chart { display: block; width: 100%; height: 220px; color: var(--ink); background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; }
th a { color: inherit; text-decoration: none; }
th a.sorted { text-decoration: underline; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 800px) { .grid2 { grid-template-columns: 1fr; } }
form.search { display: flex; gap: 8px; margin: 8px 0; }
form.search input { flex: 1; max-width: 420px; padding: 5px 8px; font: inherit; }
nav.pager { display: flex; gap: 12px; align-items: center; margin: 8px 0; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; border: 1px solid var(--line); }
.tag.seed { color: var(--good); border-color: var(--good); }
.empty { color: var(--muted); font-style: italic; }
`;
