/**
 * Pure: HTML for the dashboards, server-rendered so the pages show their numbers with JavaScript
 * off. Everything interpolated into `html\`...\`` is escaped unless it is itself Html: a torrent
 * name or peer_id from the network can only ever become text.
 */

/** A piece of markup that is safe to insert as it is (built by `html` from escaped parts). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text -> HTML text, safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function part(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped (arrays joined, Html kept, null/undefined/false left out). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += part(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/**
 * The pages' Content-Security-Policy: our own scripts, styles and event stream only; no inline
 * script or style, no plugins, no framing. An injected `<img onerror>` could not run even if
 * escaping failed.
 */
export const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export interface PageParts {
  title: string;
  /** The page's content, server-rendered. */
  body: Html;
  /** Module scripts under /static/ (e.g. 'tracker.js'); the page works without them. */
  scripts?: readonly string[];
  /** Extra data for the scripts, as data-* attributes of <body> (escaped). */
  data?: Record<string, string>;
}

/** A whole page: the shared stylesheet, the body, the module scripts. */
export function pageShell(p: PageParts): string {
  const data = Object.entries(p.data ?? {}).map(([k, v]) => html` data-${k.replace(/[^a-z0-9-]/g, '')}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title}</title>
<link rel="stylesheet" href="/static/dashboard.css">
<link rel="icon" href="data:,">
${(p.scripts ?? []).map((s) => html`<script type="module" src="/static/${s}"></script>\n`)}</head>
<body${data}>
${p.body}
</body>
</html>
`.text;
}
