/**
 * A small live line chart on <canvas>: a time axis over the last `windowMs`, a value axis with
 * nice ticks, a legend with the latest values. Our own, so the dashboards need no library or CDN.
 * Labels are drawn with fillText (never HTML); the latest values are also the canvas's
 * aria-label, for screen readers and tests.
 */
import { niceAxis } from './ticks.ts';
import { formatDuration, formatRate } from './format.ts';

export interface ChartSeries {
  label: string;
  color: string;
}

export interface ChartPoint {
  /** ms since the epoch. */
  t: number;
  /** One value per series, in the order of `series`. */
  values: readonly number[];
}

export interface ChartOptions {
  series: readonly ChartSeries[];
  /** How much time the x axis shows, ending at the newest point. */
  windowMs: number;
  /** Points kept (older ones are dropped). */
  maxPoints?: number;
  /** Two points further apart than this are not joined (sampling paused meanwhile). */
  gapMs?: number;
  formatValue?(v: number): string;
}

const PAD = { left: 52, right: 12, top: 26, bottom: 22 };

export class LineChart {
  private points: ChartPoint[] = [];
  private readonly maxPoints: number;
  private readonly gapMs: number;
  private readonly format: (v: number) => string;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly o: ChartOptions,
  ) {
    this.maxPoints = o.maxPoints ?? 600;
    this.gapMs = o.gapMs ?? 5000;
    this.format = o.formatValue ?? formatRate;
    canvas.setAttribute('role', 'img');
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Replace every point (sorted by time here), and redraw. */
  setPoints(points: readonly ChartPoint[]): void {
    this.points = [...points].sort((a, b) => a.t - b.t).slice(-this.maxPoints);
    this.draw();
  }

  /** Add the newest point, and redraw. */
  push(point: ChartPoint): void {
    const last = this.points[this.points.length - 1];
    if (last !== undefined && point.t <= last.t) return;
    this.points.push(point);
    if (this.points.length > this.maxPoints) this.points.splice(0, this.points.length - this.maxPoints);
    this.draw();
  }

  get size(): number {
    return this.points.length;
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) return;
    const width = this.canvas.clientWidth || 600;
    const height = this.canvas.clientHeight || 200;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const ink = getComputedStyle(this.canvas).color || '#222';
    const end = this.points[this.points.length - 1]?.t ?? Date.now();
    const visible = this.points.filter((p) => p.t >= end - this.o.windowMs);
    const axis = niceAxis(0, Math.max(0, ...visible.flatMap((p) => p.values.filter(Number.isFinite))));
    const plot = { x: PAD.left, y: PAD.top, w: Math.max(10, width - PAD.left - PAD.right), h: Math.max(10, height - PAD.top - PAD.bottom) };
    const xOf = (t: number) => plot.x + ((t - (end - this.o.windowMs)) / this.o.windowMs) * plot.w;
    const yOf = (v: number) => plot.y + plot.h - ((v - axis.min) / (axis.max - axis.min)) * plot.h;
    this.drawAxes(ctx, ink, plot, axis.ticks, yOf);
    this.o.series.forEach((s, i) => this.drawLine(ctx, s.color, visible, i, xOf, yOf));
    this.drawLegend(ctx, ink, visible[visible.length - 1]);
  }

  private drawAxes(ctx: CanvasRenderingContext2D, ink: string, plot: { x: number; y: number; w: number; h: number }, ticks: number[], yOf: (v: number) => number): void {
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of ticks) {
      const y = Math.round(yOf(v)) + 0.5;
      ctx.strokeStyle = 'rgba(128,128,128,0.25)';
      ctx.beginPath();
      ctx.moveTo(plot.x, y);
      ctx.lineTo(plot.x + plot.w, y);
      ctx.stroke();
      ctx.fillStyle = ink;
      ctx.fillText(this.format(v), plot.x - 6, y);
    }
    // Time labels: minutes (or seconds) before the newest point, "now" at the right.
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const marks = 5;
    for (let i = 0; i <= marks; i++) {
      const ago = Math.round((this.o.windowMs / 1000) * (1 - i / marks));
      ctx.fillText(ago === 0 ? 'now' : `-${formatDuration(ago)}`, plot.x + (plot.w * i) / marks, plot.y + plot.h + 6);
    }
    ctx.strokeStyle = ink;
    ctx.beginPath();
    ctx.moveTo(plot.x + 0.5, plot.y);
    ctx.lineTo(plot.x + 0.5, plot.y + plot.h + 0.5);
    ctx.lineTo(plot.x + plot.w, plot.y + plot.h + 0.5);
    ctx.stroke();
  }

  private drawLine(ctx: CanvasRenderingContext2D, color: string, points: readonly ChartPoint[], series: number, xOf: (t: number) => number, yOf: (v: number) => number): void {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let prev: number | undefined;
    for (const p of points) {
      const v = p.values[series];
      if (v === undefined || !Number.isFinite(v)) {
        prev = undefined;
        continue;
      }
      const joined = prev !== undefined && p.t - prev <= this.gapMs;
      if (joined) ctx.lineTo(xOf(p.t), yOf(v));
      else ctx.moveTo(xOf(p.t), yOf(v));
      prev = p.t;
    }
    ctx.stroke();
  }

  private drawLegend(ctx: CanvasRenderingContext2D, ink: string, latest: ChartPoint | undefined): void {
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let x = PAD.left;
    const summary: string[] = [];
    this.o.series.forEach((s, i) => {
      const v = latest?.values[i];
      const text = `${s.label}: ${v === undefined ? '–' : this.format(v)}`;
      summary.push(text);
      ctx.fillStyle = s.color;
      ctx.fillRect(x, 8, 10, 10);
      ctx.fillStyle = ink;
      ctx.fillText(text, x + 14, 13);
      x += ctx.measureText(text).width + 32;
    });
    this.canvas.setAttribute('aria-label', summary.join(', '));
  }
}
