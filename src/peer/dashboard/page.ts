/**
 * Pure: the peer's dashboard page, rendered on the server with the numbers of the moment, so it
 * reads with JavaScript off; the live script (/static/peer.js) then updates the same elements
 * (found by class and data-field) and draws the piece map and the rate chart. Every string from
 * a torrent or the network (names, paths, client names, addresses) goes through esc().
 */
import type { TorrentDetail, TorrentSummary } from '../stats/views.ts';
import type { PeerRow } from '../stats/peer-rows.ts';
import { formatBytes, formatEta, formatPercent, formatRate, formatRatio, TRANSPORT_NAMES } from './format.ts';
import { PAGE_STYLE } from './page-style.ts';

/** Details rendered for at most this many torrents (the rest are listed by summary). */
const MAX_DETAILED = 10;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content and quoted attributes. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function fact(label: string, field: string, value: string): string {
  return `<div><dt>${esc(label)}</dt><dd data-field="${field}">${esc(value)}</dd></div>`;
}

function facts(t: TorrentSummary): string {
  return `<dl class="facts">${[
    fact('Size', 'size', formatBytes(t.size)),
    fact('Progress', 'progress', formatPercent(t.progress)),
    fact('Download', 'down', formatRate(t.rate.down)),
    fact('Upload', 'up', formatRate(t.rate.up)),
    fact('ETA', 'eta', t.complete ? 'done' : formatEta(t.eta)),
    fact('Ratio', 'ratio', formatRatio(t.ratio)),
    fact('Peers', 'peers', String(t.peers)),
    fact('Pieces', 'pieces', `${t.piecesVerified} / ${t.pieceCount}`),
    fact('Downloaded', 'downloaded', formatBytes(t.downloaded)),
    fact('Uploaded', 'uploaded', formatBytes(t.uploaded)),
    fact('Hash failures', 'failed', String(t.piecesFailed)),
  ].join('')}</dl>`;
}

export function peerRowHtml(p: PeerRow): string {
  const cells = [
    TRANSPORT_NAMES[p.transport] ?? p.transport,
    p.address,
    p.client,
    formatRate(p.downRate),
    formatRate(p.upRate),
    formatBytes(p.downloaded),
    formatBytes(p.uploaded),
    String(p.piecesGiven),
    p.has === null ? '—' : String(p.has),
  ];
  return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

const PEER_HEADS = ['Transport', 'Address', 'Client', 'Down', 'Up', 'Received', 'Sent', 'Pieces given', 'Pieces held'];

function table(cls: string, heads: string[], rows: string[], empty: string): string {
  const body = rows.length ? rows.join('') : `<tr class="empty"><td colspan="${heads.length}">${esc(empty)}</td></tr>`;
  return `<table class="${cls}"><thead><tr>${heads.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

function filesTable(d: TorrentDetail): string {
  const rows = d.files.map((f) => `<tr><td>${esc(f.path)}</td><td>${esc(formatBytes(f.size))}</td><td>${esc(formatPercent(f.progress))}</td></tr>`);
  const more = d.filesTotal > d.files.length ? `<p class="note">${esc(`${d.filesTotal - d.files.length} more files not listed`)}</p>` : '';
  return table('files', ['Path', 'Size', 'Progress'], rows, 'no files') + more;
}

function detailSection(d: TorrentDetail): string {
  const pieces = `${d.piecesVerified} of ${d.pieceCount} pieces verified, ${d.pieces.inFlight.length} in flight`;
  return `<section class="torrent" data-info-hash="${esc(d.infoHash)}">
<h2 class="name">${esc(d.name)}</h2>
<p class="hash">info_hash <code>${esc(d.infoHash)}</code></p>
<progress class="bar" max="1" value="${esc(d.progress)}"></progress>
${facts(d)}
<div class="charts">
<figure><figcaption>Pieces <span class="legend"><i class="missing"></i>missing <i class="flight"></i>in flight <i class="verified"></i>verified</span></figcaption>
<canvas class="piece-map" width="600" height="160" aria-label="piece map"></canvas><p class="piece-text" data-field="piece-text">${esc(pieces)}</p></figure>
<figure><figcaption>Transfer rate, last 5 minutes <span class="legend"><i class="down"></i>download <i class="up"></i>upload</span></figcaption>
<canvas class="rate-chart" width="600" height="160" aria-label="rate chart"></canvas></figure>
</div>
<h3>Peers</h3>
${table('peers', PEER_HEADS, d.peerList.map(peerRowHtml), 'no peer connected')}
<h3>Files</h3>
${filesTable(d)}
<h3>Share</h3>
<p class="links"><a class="magnet" href="${esc(d.magnet)}">magnet link</a> · <a class="torrent-file" href="${esc(d.torrentUrl)}" download>.torrent file</a></p>
<p class="magnet-text"><code>${esc(d.magnet)}</code></p>
</section>`;
}

function summaryLine(t: TorrentSummary): string {
  return `<li><a href="/api/torrents/${esc(t.infoHash)}">${esc(t.name)}</a> — ${esc(formatPercent(t.progress))} of ${esc(formatBytes(t.size))}</li>`;
}

/** The whole page; `detail` gives the details of one torrent. */
export function renderPeerPage(summaries: TorrentSummary[], detail: (infoHashHex: string) => TorrentDetail | undefined): string {
  const detailed = summaries.slice(0, MAX_DETAILED).map((t) => detail(t.infoHash)).filter((d): d is TorrentDetail => d !== undefined);
  const rest = summaries.slice(MAX_DETAILED);
  const body = detailed.length ? detailed.map(detailSection).join('\n') : '<p class="note">No torrent shared.</p>';
  const others = rest.length ? `<h2>Other torrents</h2><ul>${rest.map(summaryLine).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Peer dashboard</title><style>${PAGE_STYLE}</style></head>
<body><header><h1>Peer dashboard</h1><p class="note">Read-only. Numbers as of the page load; live once a second with JavaScript. <a href="/api/torrents">JSON</a> · <a href="/metrics">metrics</a></p></header>
<main>${body}${others}</main>
<script type="module" src="/static/peer.js"></script>
</body></html>
`;
}
