/**
 * A swarm's page (`/swarm/<info_hash>`): its counts and its page of peers refreshed every few
 * seconds from /api/swarms/<info_hash>. The server rendered them first; peers' strings (client,
 * peer_id) are set as text.
 */
import { byId, el, fillSlots, replaceChildren, slots } from './shared/dom.ts';
import { fetchJson } from './shared/live.ts';
import { arr, num, obj, str } from './shared/json.ts';
import { formatAgo, formatCount } from './shared/format.ts';

const REFRESH_MS = 3000;
const found = slots();
const hex = /^\/swarm\/([0-9a-fA-F]{40})$/.exec(location.pathname)?.[1] ?? '';
const page = new URLSearchParams(location.search).get('page') ?? '1';

function peerRow(value: unknown): HTMLElement {
  const p = obj(value);
  return el('tr', {}, [
    el('td', { class: 'mono', text: str(p['ip']) }),
    el('td', { class: 'num', text: String(num(p['port']) ?? '') }),
    el('td', { text: str(p['client']) }),
    el('td', { class: 'mono break', text: str(p['peer_id_text']) }),
    el('td', {}, [p['seeder'] === true ? el('span', { class: 'tag seed', text: 'seeder' }) : 'leecher']),
    el('td', { class: 'num', text: formatAgo(num(p['last_seen']) ?? 0, Date.now()) }),
  ]);
}

function apply(value: unknown): void {
  const v = obj(value);
  fillSlots(found, {
    seeders: formatCount(num(v['seeders'])),
    leechers: formatCount(num(v['leechers'])),
    completed: formatCount(num(v['completed'])),
    total_peers: formatCount(num(v['total_peers'])),
  });
  const rows = arr(v['peers']).map(peerRow);
  if (rows.length === 0) rows.push(el('tr', {}, [el('td', { class: 'empty', attrs: { colspan: '6' }, text: 'no live peer' })]));
  const tbody = byId('peer-table', HTMLTableElement).tBodies[0];
  if (tbody !== undefined) replaceChildren(tbody, rows);
}

function showStatus(ok: boolean): void {
  const node = byId('live-status', HTMLElement);
  node.dataset['state'] = ok ? 'live' : 'offline';
  node.textContent = ok ? 'live' : 'offline, retrying';
}

async function refresh(): Promise<void> {
  try {
    apply(await fetchJson(`/api/swarms/${hex}?page=${encodeURIComponent(page)}`));
    showStatus(true);
  } catch {
    showStatus(false);
  }
}

if (hex !== '') {
  void refresh();
  setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, REFRESH_MS);
}
