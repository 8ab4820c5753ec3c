/**
 * The tracker dashboard's script (page `/`): the totals, failures and rate chart kept live from
 * /api/events, and the swarm table sorted, paged and searched through /api/swarms without
 * reloading. The server rendered everything first; this only replaces numbers and rows.
 */
import { byId, el, fillSlots, replaceChildren, slots } from './shared/dom.ts';
import { LineChart, type ChartPoint } from './shared/chart.ts';
import { connectLive, fetchJson, type LiveStatus } from './shared/live.ts';
import { formatAgo, formatCount, formatDuration, formatRate } from './shared/format.ts';
import { arr, num, obj, str } from './shared/json.ts';

const FAILURE_REASONS = ['bad_request', 'not_registered', 'store_full', 'store_unavailable', 'bad_connection_id', 'internal'];
const REFRESH_TABLE_MS = 5000;
const found = slots();
const chart = new LineChart(byId('rates', HTMLCanvasElement), {
  series: [
    { label: 'announces/s', color: '#1f6feb' },
    { label: 'scrapes/s', color: '#e36209' },
  ],
  windowMs: 10 * 60_000,
});

function rate(v: unknown): string {
  const n = num(v);
  return n === null ? '–' : formatRate(n);
}

function applyStats(value: unknown): void {
  const s = obj(value);
  const failures = obj(s['failures']);
  const values: Record<string, string> = {
    swarms: formatCount(num(s['swarms'])),
    peers: formatCount(num(s['peers'])),
    seeders: formatCount(num(s['seeders'])),
    leechers: formatCount(num(s['leechers'])),
    completed: formatCount(num(s['completed'])),
    announces: formatCount(num(s['announces'])),
    scrapes: formatCount(num(s['scrapes'])),
    failed: formatCount(num(s['failed'])),
    announces_per_second: rate(s['announces_per_second']),
    scrapes_per_second: rate(s['scrapes_per_second']),
    uptime: formatDuration(num(s['uptime_seconds']) ?? Number.NaN),
    store: str(s['store']),
    processes: formatCount(num(s['processes'])),
  };
  for (const r of FAILURE_REASONS) values[`failure_${r}`] = formatCount(num(failures[r]));
  fillSlots(found, values);
}

function chartPoint(value: unknown): ChartPoint | null {
  const p = obj(value);
  const t = num(p['t']);
  return t === null ? null : { t, values: [num(p['announces']) ?? Number.NaN, num(p['scrapes']) ?? Number.NaN] };
}

function showStatus(status: LiveStatus): void {
  const node = byId('live-status', HTMLElement);
  node.dataset['state'] = status;
  node.textContent = status === 'live' ? 'live' : status === 'connecting' ? 'connecting…' : 'offline, retrying';
}

// ---- the swarm table ----

/** The listing's parameters, as in the page's URL. */
let listing = new URLSearchParams(location.search);

function linkTo(over: Record<string, string>): string {
  const p = new URLSearchParams(listing);
  for (const [k, v] of Object.entries(over)) p.set(k, v);
  if (p.get('page') === '1') p.delete('page');
  return `/?${p.toString()}`;
}

const COLUMNS: Array<[string | null, string, boolean]> = [
  ['info_hash', 'info_hash', false],
  [null, 'name', false],
  ['seeders', 'seeders', true],
  ['leechers', 'leechers', true],
  ['peers', 'peers', true],
  ['completed', 'completed', true],
  ['last_announce', 'last announce', true],
];

function headerCell(sort: string | null, label: string, numeric: boolean, current: string, order: string): HTMLElement {
  if (sort === null) return el('th', { text: label });
  const sorted = sort === current;
  const next = sorted ? (order === 'asc' ? 'desc' : 'asc') : sort === 'info_hash' ? 'asc' : 'desc';
  const arrow = sorted ? (order === 'asc' ? ' ▲' : ' ▼') : '';
  const a = el('a', { attrs: { href: linkTo({ sort, order: next, page: '1' }), 'data-sort': sort }, class: sorted ? 'sorted' : '', text: label + arrow });
  return el('th', { class: numeric ? 'num' : '' }, [a]);
}

function swarmRow(value: unknown): HTMLElement {
  const s = obj(value);
  const hex = str(s['info_hash']);
  const safeHex = /^[0-9a-f]{40}$/.test(hex) ? hex : '';
  return el('tr', {}, [
    el('td', { class: 'mono' }, [el('a', { attrs: { href: `/swarm/${safeHex}` }, text: hex })]),
    el('td', { class: 'break', text: str(s['name']) }),
    el('td', { class: 'num', text: formatCount(num(s['seeders'])) }),
    el('td', { class: 'num', text: formatCount(num(s['leechers'])) }),
    el('td', { class: 'num', text: formatCount((num(s['seeders']) ?? Number.NaN) + (num(s['leechers']) ?? Number.NaN)) }),
    el('td', { class: 'num', text: formatCount(num(s['completed'])) }),
    el('td', { class: 'num', text: formatAgo(num(s['last_announce']) ?? 0, Date.now()) }),
  ]);
}

function renderTable(value: unknown): void {
  const v = obj(value);
  const sort = str(v['sort']);
  const order = str(v['order']);
  const page = num(v['page']) ?? 1;
  const pages = num(v['pages']) ?? 1;
  const total = num(v['total']) ?? 0;
  const rows = arr(v['swarms']).map(swarmRow);
  if (rows.length === 0) rows.push(el('tr', {}, [el('td', { class: 'empty', attrs: { colspan: '7' }, text: str(v['q']) === '' ? 'no swarms yet' : 'no swarm starts with that' })]));
  const head = el('tr', {}, COLUMNS.map(([s, label, numeric]) => headerCell(s, label, numeric, sort, order)));
  const scanned = num(v['scanned']);
  const pager = el('nav', { class: 'pager' }, [
    page > 1 ? el('a', { attrs: { href: linkTo({ page: String(page - 1) }), 'data-page': String(page - 1) }, text: '← previous' }) : null,
    el('span', { text: `page ${page} of ${pages} · ${formatCount(total)} swarm${total === 1 ? '' : 's'}${scanned === null ? '' : ` (among the first ${formatCount(scanned)} swarms of the store)`}` }),
    page < pages ? el('a', { attrs: { href: linkTo({ page: String(page + 1) }), 'data-page': String(page + 1) }, text: 'next →' }) : null,
  ]);
  replaceChildren(byId('swarms', HTMLElement), [el('table', { attrs: { id: 'swarm-table' } }, [el('thead', {}, [head]), el('tbody', {}, rows)]), pager]);
}

async function loadSwarms(params: URLSearchParams): Promise<void> {
  const v = await fetchJson(`/api/swarms?${params.toString()}`);
  listing = params;
  renderTable(v);
  const url = `/?${params.toString()}`;
  if (location.pathname + location.search !== url) history.replaceState(null, '', url);
}

// Sorting and paging links, and the search, load the table in place (the links work without JS too).
byId('swarms', HTMLElement).addEventListener('click', (ev) => {
  const a = (ev.target as Element | null)?.closest('a');
  if (a === null || a === undefined || !(a.dataset['sort'] !== undefined || a.dataset['page'] !== undefined)) return;
  ev.preventDefault();
  void loadSwarms(new URL(a.href).searchParams).catch(() => (location.href = a.href));
});
byId('search', HTMLFormElement).addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = (new FormData(ev.target as HTMLFormElement).get('q') ?? '').toString().trim().toLowerCase();
  const p = new URLSearchParams(listing);
  p.delete('page');
  if (q === '') p.delete('q');
  else p.set('q', q);
  void loadSwarms(p).catch((e: unknown) => console.warn(String(e)));
});

setInterval(() => {
  if (document.visibilityState === 'visible') void loadSwarms(listing).catch(() => {});
}, REFRESH_TABLE_MS);

void fetchJson('/api/stats')
  .then((s) => {
    applyStats(s);
    chart.setPoints(arr(obj(s)['history']).map(chartPoint).filter((p): p is ChartPoint => p !== null));
  })
  .catch(() => {});

connectLive({
  url: '/api/events',
  onUpdate: (m) => {
    const message = obj(m);
    applyStats(message['stats']);
    const p = chartPoint(message['point']);
    if (p !== null) chart.push(p);
  },
  onStatus: showStatus,
});
