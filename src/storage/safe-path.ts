/**
 * Path safety in one place. Names and paths inside a torrent are hostile: a component such as
 * `..`, an absolute path or an embedded separator has let torrents write outside the download
 * folder in well-known clients. Everything that turns torrent text into a file name goes here.
 */
import path from 'node:path';

/** Most file systems refuse a name longer than 255 bytes. */
const MAX_COMPONENT_BYTES = 255;

/** Why `component` cannot be one element of a path on disk, or null if it can. */
export function unsafeComponentReason(component: string): string | null {
  if (component.length === 0) return 'is empty';
  if (component === '.' || component === '..') return `is "${component}"`;
  if (/[/\\\0]/.test(component)) return 'contains "/", "\\" or NUL';
  if (Buffer.byteLength(component) > MAX_COMPONENT_BYTES) return `is longer than ${MAX_COMPONENT_BYTES} bytes`;
  return null;
}

/**
 * Join checked components under `root`, and check the result really is inside `root`
 * (a second line of defence behind the component check).
 */
export function safeJoin(root: string, components: readonly string[]): string {
  for (const c of components) {
    const why = unsafeComponentReason(c);
    if (why) throw new Error(`unsafe path element ${JSON.stringify(c)}: ${why}`);
  }
  const base = path.resolve(root);
  const full = path.resolve(base, ...components);
  const prefix = base.endsWith(path.sep) ? base : base + path.sep; // the root `/` already ends with one
  if (full !== base && !full.startsWith(prefix)) throw new Error(`path escapes ${root}`);
  return full;
}
