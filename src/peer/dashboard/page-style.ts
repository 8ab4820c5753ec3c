/**
 * The peer page's stylesheet, after the shared one (/static/dashboard.css), served as
 * /static/peer.css: the pages' CSP allows no inline style.
 */
export const PEER_CSS = `
:root { --missing: #c9d1d9; --flight: #e3a008; --verified: #2e9e5b; }
section.torrent { border: 1px solid var(--line); border-radius: 8px; padding: 4px 16px 12px; margin: 16px 0; }
h2.name { font-size: 18px; margin: 12px 0 0; }
progress.bar { width: 100%; height: 14px; accent-color: var(--verified); }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
canvas.piece-map { display: block; width: 100%; height: 220px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.legend { font-weight: 400; color: var(--muted); margin-left: 8px; font-size: 12px; }
.sw { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; border-radius: 2px; }
.sw.missing { background: var(--missing); } .sw.flight { background: var(--flight); } .sw.verified { background: var(--verified); }
h3 { font-size: 15px; margin: 18px 0 6px; }
table.peers td, table.files td { overflow-wrap: anywhere; }
`;
