/**
 * Reading our own APIs' JSON in the browser without trusting its shape: a field that is not what
 * the page expects becomes a dash or an empty value, never an exception or markup.
 */

export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
