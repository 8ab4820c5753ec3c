/** The peer page's stylesheet (inline: the page works offline and as one request). */
export const PAGE_STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #f6f7f9;
  --missing: #d9dde5; --flight: #f0a020; --verified: #2e9e5b; --down: #2b6cd4; --up: #c2410c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 20px; }
main { padding: 12px 24px; }
.note { color: var(--muted); margin: 4px 0; }
section.torrent { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
h2.name { margin: 0 0 2px; font-size: 18px; overflow-wrap: anywhere; }
.hash { margin: 0 0 8px; color: var(--muted); }
progress.bar { width: 100%; height: 14px; accent-color: var(--verified); }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 6px 16px; margin: 10px 0; }
dl.facts dt { color: var(--muted); font-size: 12px; }
dl.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
canvas { width: 100%; height: 160px; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.legend { font-weight: 400; color: var(--muted); margin-left: 8px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; border-radius: 2px; }
.legend .missing { background: var(--missing); } .legend .flight { background: var(--flight); }
.legend .verified { background: var(--verified); } .legend .down { background: var(--down); } .legend .up { background: var(--up); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
tr.empty td { color: var(--muted); }
h3 { margin: 16px 0 6px; font-size: 15px; }
.magnet-text code { font-size: 12px; overflow-wrap: anywhere; color: var(--muted); }
`;
