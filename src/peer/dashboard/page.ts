/**
 * Pure: the peer's dashboard page, rendered on the server with the numbers of the moment, so it
 * reads with JavaScript off; the live script (/static/peer.js, src/web/peer.ts) then updates the
 * same elements (`data-slot`s, tables) and draws the piece map and the rate chart. Everything
 * goes through the escaping `html` template: a torrent's name, a path, a client name from the
 * network can only become text.
 */
import { html, pageShell, type Html } from '../../dashboard/html.ts';
import type { TorrentDetail, TorrentSummary } from '../stats/views.ts';
import { FILE_COLUMNS, fileCells, formatBytes, formatPercent, PEER_COLUMNS, peerCells, pieceText, SUMMARY_CARDS, summarySlots } from '../../web/peer-format.ts';

/** Details rendered for at most this many torrents (the rest are listed by summary). */
export const MAX_DETAILED = 10;

function table(cls: string, heads: readonly string[], rows: string[][], empty: string): Html {
  const body = rows.length
    ? rows.map((cells) => html`<tr>${cells.map((c) => html`<td>${c}</td>`)}</tr>`)
    : html`<tr><td class="empty" colspan="${heads.length}">${empty}</td></tr>`;
  return html`<table class="${cls}"><thead><tr>${heads.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${body}</tbody></table>`;
}

function cards(t: TorrentSummary): Html {
  const values = summarySlots(t);
  return html`<div class="cards">${SUMMARY_CARDS.map(([slot, label]) => html`<div class="card"><span class="label">${label}</span><span class="value" data-slot="${slot}">${values[slot]}</span></div>`)}</div>`;
}

function section(d: TorrentDetail): Html {
  const more = d.filesTotal > d.files.length ? html`<p class="muted">${d.filesTotal - d.files.length} more files not listed</p>` : null;
  return html`<section class="torrent" data-info-hash="${d.infoHash}">
<h2 class="name break">${d.name}</h2>
<p class="muted mono break">info_hash ${d.infoHash}</p>
<progress class="bar" max="1" value="${d.progress}"></progress>
${cards(d)}
<div class="grid2">
<figure><figcaption>Pieces <span class="legend"><i class="sw missing"></i>missing <i class="sw flight"></i>in flight <i class="sw verified"></i>verified</span></figcaption>
<canvas class="piece-map" aria-label="${pieceText(d)}"></canvas>
<p class="muted" data-slot="piece-text">${pieceText(d)}</p></figure>
<figure><figcaption>Transfer rate, last 5 minutes</figcaption>
<canvas class="chart rate-chart"></canvas></figure>
</div>
<h3>Peers</h3>
<div class="peers">${table('peers', PEER_COLUMNS, d.peerList.map(peerCells), 'no peer connected')}</div>
<h3>Files</h3>
<div class="files">${table('files', FILE_COLUMNS, d.files.map(fileCells), 'no files')}${more}</div>
<h3>Share</h3>
<p><a class="magnet" href="${d.magnet}">magnet link</a> · <a class="torrent-file" href="${d.torrentUrl}" download>.torrent file</a></p>
<p class="mono break muted">${d.magnet}</p>
</section>`;
}

function others(rest: TorrentSummary[]): Html | null {
  if (!rest.length) return null;
  return html`<h2>Other torrents</h2><ul>${rest.map((t) => html`<li><a href="/api/torrents/${t.infoHash}">${t.name}</a> — ${formatPercent(t.progress)} of ${formatBytes(t.size)}</li>`)}</ul>`;
}

/** The whole page; `detail` gives one torrent's details. */
export function renderPeerPage(summaries: TorrentSummary[], detail: (infoHashHex: string) => TorrentDetail | undefined): string {
  const detailed = summaries.slice(0, MAX_DETAILED).flatMap((t) => detail(t.infoHash) ?? []);
  const body = html`<header class="top"><h1>Peer dashboard</h1>
<span class="muted">read-only · <a href="/api/torrents">JSON API</a> · <a href="/metrics">metrics</a></span>
<span class="status" id="live-status" data-state="offline">numbers as of the page load</span></header>
<main>${detailed.length ? detailed.map(section) : html`<p class="empty">No torrent shared.</p>`}${others(summaries.slice(MAX_DETAILED))}</main>`;
  // pageShell links the shared stylesheet only; the peer page's own rules follow it.
  return pageShell({ title: 'Peer dashboard', body, scripts: ['peer.js'] }).replace('</head>', '<link rel="stylesheet" href="/static/peer.css">\n</head>');
}
