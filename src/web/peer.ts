/**
 * The peer dashboard's live script: for each torrent section the server rendered, one event
 * stream (/api/events?torrent=<hex>) whose details, once a second, update the cards, the
 * progress bar, the piece map, the rate chart and the peers and files tables. Text goes in
 * through textContent only (shared/dom.ts); without this script the page keeps its numbers.
 */
import { connectLive, type LiveStatus } from './shared/live.ts';
import { el, fillSlots, replaceChildren, setText, slots } from './shared/dom.ts';
import { LineChart } from './shared/chart.ts';
import { drawPieceMap, type PieceStates } from './peer-map.ts';
import { fileCells, formatSpeedShort, peerCells, pieceText, summarySlots, type PeerNumbers, type SummaryNumbers } from './peer-format.ts';

interface Detail extends SummaryNumbers {
  infoHash: string;
  pieces: PieceStates;
  peerList: PeerNumbers[];
  files: Array<{ path: string; size: number; progress: number }>;
  history: Array<{ at: number; down: number; up: number }>;
}

const HEX = /^[0-9a-f]{40}$/;
const STATUS_TEXT: Record<LiveStatus, string> = { connecting: 'connecting…', live: 'live', offline: 'offline: retrying' };

function isDetail(d: unknown): d is Detail {
  const x = d as Partial<Detail> | null;
  return typeof x === 'object' && x !== null && typeof x.infoHash === 'string' && typeof x.pieces === 'object' && Array.isArray(x.peerList) && Array.isArray(x.files) && Array.isArray(x.history);
}

function rows(body: HTMLElement, cells: string[][], columns: number, empty: string): void {
  const trs = cells.map((row) => el('tr', {}, row.map((c) => el('td', { text: c }))));
  replaceChildren(body, trs.length ? trs : [el('tr', {}, [el('td', { class: 'empty', text: empty, attrs: { colspan: String(columns) } })])]);
}

function follow(section: HTMLElement, onStatus: (s: LiveStatus) => void): void {
  const hex = section.dataset['infoHash'] ?? '';
  if (!HEX.test(hex)) return;
  const found = slots(section);
  const map = section.querySelector<HTMLCanvasElement>('canvas.piece-map');
  const chartCanvas = section.querySelector<HTMLCanvasElement>('canvas.rate-chart');
  const bar = section.querySelector<HTMLProgressElement>('progress.bar');
  const peers = section.querySelector<HTMLElement>('table.peers tbody');
  const files = section.querySelector<HTMLElement>('table.files tbody');
  const chart = chartCanvas
    ? new LineChart(chartCanvas, { series: [{ label: 'download', color: '#2b6cd4' }, { label: 'upload', color: '#c2410c' }], windowMs: 300_000, formatValue: formatSpeedShort })
    : null;
  connectLive({
    url: `/api/events?torrent=${hex}`,
    onStatus,
    onUpdate: (d) => {
      if (!isDetail(d) || d.infoHash !== hex) return;
      const words = pieceText(d);
      fillSlots(found, { ...summarySlots(d), 'piece-text': words });
      if (bar) bar.value = d.progress;
      if (map) {
        drawPieceMap(map, d.pieces);
        map.setAttribute('aria-label', words);
      }
      chart?.setPoints(d.history.map((p) => ({ t: p.at, values: [p.down, p.up] })));
      if (peers) rows(peers, d.peerList.map(peerCells), 9, 'no peer connected');
      if (files) rows(files, d.files.map(fileCells), 3, 'no files');
      // For scripts and tests: what the page shows now.
      section.dataset['progress'] = String(d.progress);
      section.dataset['verified'] = String(d.piecesVerified);
    },
  });
}

const status = document.getElementById('live-status');
const onStatus = (s: LiveStatus) => {
  if (!status) return;
  status.dataset['state'] = s;
  setText(status, STATUS_TEXT[s]);
};
document.querySelectorAll<HTMLElement>('section.torrent').forEach((section) => follow(section, onStatus));
