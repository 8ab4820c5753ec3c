/**
 * Pure: the tracker dashboard's pages as HTML, with every number in place (the pages work with
 * JavaScript off; src/web/tracker*.ts then keeps them live). Every string from the network (names,
 * peer_ids, addresses) goes through html`` and so is escaped.
 */
import { html, type Html } from '../../dashboard/html.ts';
import { formatAgo, formatCount, formatDuration, formatRate } from '../../web/shared/format.ts';
import { FAILURE_REASONS } from '../metrics/stats.ts';
import type { SwarmSort } from '../store/swarm-listing.ts';
import { listingQueryString, type ListingRequest } from './query.ts';
import type { StatsView, SwarmsView, SwarmView } from './views.ts';

const COLUMNS: ReadonlyArray<{ sort: SwarmSort | null; label: string; num: boolean }> = [
  { sort: 'info_hash', label: 'info_hash', num: false },
  { sort: null, label: 'name', num: false },
  { sort: 'seeders', label: 'seeders', num: true },
  { sort: 'leechers', label: 'leechers', num: true },
  { sort: 'peers', label: 'peers', num: true },
  { sort: 'completed', label: 'completed', num: true },
  { sort: 'last_announce', label: 'last announce', num: true },
];

const card = (label: string, slot: string, value: string) => html`<div class="card"><span class="label">${label}</span><span class="value" data-slot="${slot}">${value}</span></div>`;
const rate = (v: number | null) => (v === null ? '–' : formatRate(v));

function cards(s: StatsView): Html {
  return html`<section class="cards" id="totals">
${card('swarms', 'swarms', formatCount(s.swarms))}${card('peers', 'peers', formatCount(s.peers))}${card('seeders', 'seeders', formatCount(s.seeders))}${card('leechers', 'leechers', formatCount(s.leechers))}${card('completed', 'completed', formatCount(s.completed))}
${card('announces/s', 'announces_per_second', rate(s.announces_per_second))}${card('scrapes/s', 'scrapes_per_second', rate(s.scrapes_per_second))}${card('announces', 'announces', formatCount(s.announces))}${card('scrapes', 'scrapes', formatCount(s.scrapes))}
</section>`;
}

function failures(s: StatsView): Html {
  return html`<table id="failures"><thead><tr><th>reason</th><th class="num">count</th></tr></thead><tbody>
${FAILURE_REASONS.map((r) => html`<tr><td>${r.replace(/_/g, ' ')}</td><td class="num" data-slot="failure_${r}">${formatCount(s.failures[r])}</td></tr>\n`)}</tbody></table>`;
}

function about(s: StatsView): Html {
  return html`<table id="about"><tbody>
<tr><th>uptime</th><td data-slot="uptime">${formatDuration(s.uptime_seconds)}</td></tr>
<tr><th>store</th><td data-slot="store">${s.store}</td></tr>
<tr><th>processes</th><td data-slot="processes">${s.processes}</td></tr>
<tr><th>requests refused</th><td data-slot="failed">${formatCount(s.failed)}</td></tr>
</tbody></table>`;
}

function sortLink(r: ListingRequest, sort: SwarmSort, label: string): Html {
  const current = r.query.sort === sort;
  const order = current ? (r.query.order === 'asc' ? 'desc' : 'asc') : sort === 'info_hash' ? 'asc' : 'desc';
  const arrow = current ? (r.query.order === 'asc' ? ' ▲' : ' ▼') : '';
  return html`<a href="/?${listingQueryString(r, { sort, order, page: 1 })}" data-sort="${sort}" class="${current ? 'sorted' : ''}">${label}${arrow}</a>`;
}

/** The table of swarms and its pager (the script re-renders the same structure). */
export function swarmTable(v: SwarmsView, r: ListingRequest, now: number): Html {
  const head = COLUMNS.map((c) => html`<th class="${c.num ? 'num' : ''}">${c.sort === null ? c.label : sortLink(r, c.sort, c.label)}</th>`);
  const rows = v.swarms.map(
    (s) => html`<tr><td class="mono"><a href="/swarm/${s.info_hash}">${s.info_hash}</a></td><td class="break">${s.name ?? ''}</td><td class="num">${formatCount(s.seeders)}</td><td class="num">${formatCount(s.leechers)}</td><td class="num">${formatCount(s.seeders + s.leechers)}</td><td class="num">${formatCount(s.completed)}</td><td class="num">${formatAgo(s.last_announce, now)}</td></tr>\n`,
  );
  const empty = v.swarms.length === 0 ? html`<tr><td colspan="7" class="empty">${v.q === '' ? 'no swarms yet' : 'no swarm starts with that'}</td></tr>` : null;
  const prev = v.page > 1 ? html`<a href="/?${listingQueryString(r, { page: v.page - 1 })}" data-page="${v.page - 1}">← previous</a>` : null;
  const next = v.page < v.pages ? html`<a href="/?${listingQueryString(r, { page: v.page + 1 })}" data-page="${v.page + 1}">next →</a>` : null;
  const partial = v.scanned === undefined ? null : html` <span class="muted">(among the first ${formatCount(v.scanned)} swarms of the store)</span>`;
  return html`<table id="swarm-table"><thead><tr>${head}</tr></thead><tbody>
${rows}${empty}</tbody></table>
<nav class="pager">${prev}<span>page ${v.page} of ${v.pages} · ${formatCount(v.total)} swarm${v.total === 1 ? '' : 's'}${partial}</span>${next}</nav>`;
}

export function overviewPage(s: StatsView, v: SwarmsView, r: ListingRequest): Html {
  return html`<header class="top"><h1>Tracker</h1><span class="muted">BitTorrent tracker · store <span data-slot="store">${s.store}</span> · up <span data-slot="uptime">${formatDuration(s.uptime_seconds)}</span></span><span class="status" id="live-status" data-state="static">numbers as of page load</span></header>
${cards(s)}
<h2>Requests per second, last 10 minutes</h2>
<canvas id="rates" class="chart" aria-label="announces/s: ${rate(s.announces_per_second)}, scrapes/s: ${rate(s.scrapes_per_second)}"></canvas>
<noscript><p class="muted">The chart and live updates need JavaScript; these numbers are as of loading the page.</p></noscript>
<div class="grid2"><section><h2>Refused requests, by reason</h2>${failures(s)}</section><section><h2>This tracker</h2>${about(s)}</section></div>
<h2>Swarms</h2>
<form class="search" method="get" action="/" id="search"><input type="search" name="q" value="${r.query.prefix}" placeholder="info_hash prefix (hex)" maxlength="40" pattern="[0-9a-fA-F]{0,40}" aria-label="search by info_hash prefix"><input type="hidden" name="sort" value="${r.query.sort}"><input type="hidden" name="order" value="${r.query.order}"><button type="submit">Search</button></form>
<div id="swarms">${swarmTable(v, r, s.now)}</div>
<p class="muted">JSON: <a href="/api/stats">/api/stats</a> · <a href="/api/swarms">/api/swarms</a> · <a href="/metrics">/metrics</a></p>`;
}

export function swarmPage(v: SwarmView, now: number): Html {
  const rows = v.peers.map(
    (p) => html`<tr><td class="mono">${p.ip}</td><td class="num">${p.port}</td><td>${p.client}</td><td class="mono break">${p.peer_id_text}</td><td>${p.seeder ? html`<span class="tag seed">seeder</span>` : 'leecher'}</td><td class="num">${formatAgo(p.last_seen, now)}</td></tr>\n`,
  );
  const empty = v.peers.length === 0 ? html`<tr><td colspan="6" class="empty">no live peer</td></tr>` : null;
  const base = `/swarm/${v.info_hash}`;
  const prev = v.page > 1 ? html`<a href="${base}?page=${v.page - 1}">← previous</a>` : null;
  const next = v.page < v.pages ? html`<a href="${base}?page=${v.page + 1}">next →</a>` : null;
  return html`<header class="top"><h1>Swarm</h1><a href="/">← all swarms</a><span class="status" id="live-status" data-state="static">numbers as of page load</span></header>
<p class="mono break" id="info-hash">${v.info_hash}</p>
<p id="swarm-name" class="break">${v.name ?? ''}</p>
<section class="cards">${card('seeders', 'seeders', formatCount(v.seeders))}${card('leechers', 'leechers', formatCount(v.leechers))}${card('completed', 'completed', formatCount(v.completed))}${card('live peers', 'total_peers', formatCount(v.total_peers))}</section>
<h2>Peers</h2>
<table id="peer-table"><thead><tr><th>address</th><th class="num">port</th><th>client</th><th>peer_id</th><th>role</th><th class="num">last seen</th></tr></thead><tbody>
${rows}${empty}</tbody></table>
<nav class="pager">${prev}<span>page ${v.page} of ${v.pages}</span>${next}</nav>
<p class="muted">JSON: <a href="/api/swarms/${v.info_hash}">/api/swarms/${v.info_hash}</a></p>`;
}
