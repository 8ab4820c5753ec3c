/**
 * The piece map on <canvas>: one cell per piece (missing, in flight, verified), drawn from the
 * API's packed form (the verified pieces as a base64 bitfield, the pieces in flight as indices).
 * With more pieces than cells of at least MIN_CELL px fit, a cell covers a run of pieces and is
 * shaded by the share of them verified (in flight if any of them is): 100,000 pieces still draw
 * as a few thousand rectangles.
 */

const COLORS = { missing: '#c9d1d9', flight: '#e3a008', verified: '#2e9e5b' };
const MIN_CELL = 4;
const GAP = 1;

export interface PieceStates {
  count: number;
  /** BEP 3 bitfield, base64. */
  verified: string;
  inFlight: readonly number[];
}

export function decodeBitfield(base64: string): Uint8Array {
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** Columns and rows of square cells that hold `cells` in a w x h box, as large as fits. */
function layout(cells: number, w: number, h: number): { cols: number; rows: number; size: number } {
  let size = Math.max(MIN_CELL, Math.floor(Math.sqrt((w * h) / Math.max(1, cells))));
  for (;;) {
    const cols = Math.max(1, Math.floor(w / size));
    const rows = Math.ceil(cells / cols);
    if (rows * size <= h || size <= MIN_CELL) return { cols, rows, size };
    size--;
  }
}

/** Mix of two #rrggbb colours, `f` of the second. */
function mix(a: string, b: string, f: number): string {
  const ch = (c: string, i: number) => parseInt(c.slice(1 + 2 * i, 3 + 2 * i), 16);
  const parts = [0, 1, 2].map((i) => Math.round(ch(a, i) * (1 - f) + ch(b, i) * f));
  return `rgb(${parts.join(',')})`;
}

export function drawPieceMap(canvas: HTMLCanvasElement, s: PieceStates): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null || s.count === 0) return;
  const w = canvas.clientWidth || 600;
  const h = canvas.clientHeight || 200;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const maxCells = Math.floor(w / MIN_CELL) * Math.floor(h / MIN_CELL);
  const cells = Math.min(s.count, maxCells);
  const perCell = s.count / cells;
  const { cols, size } = layout(cells, w - 8, h - 8);
  const bits = decodeBitfield(s.verified);
  const flying = new Set(s.inFlight);
  for (let c = 0; c < cells; c++) {
    const first = Math.floor(c * perCell);
    const end = Math.max(first + 1, Math.floor((c + 1) * perCell));
    let verified = 0;
    let inFlight = false;
    for (let i = first; i < end; i++) {
      if ((bits[i >> 3]! & (0x80 >> (i & 7))) !== 0) verified++;
      else if (flying.has(i)) inFlight = true;
    }
    const share = verified / (end - first);
    ctx.fillStyle = inFlight ? COLORS.flight : share === 1 ? COLORS.verified : share === 0 ? COLORS.missing : mix(COLORS.missing, COLORS.verified, share);
    ctx.fillRect(4 + (c % cols) * size, 4 + Math.floor(c / cols) * size, size - GAP, size - GAP);
  }
}
