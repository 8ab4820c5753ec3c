/**
 * `--whitelist FILE` / `--blacklist FILE`: which torrents a private or curated tracker serves.
 * One hex info_hash a line (40 hex digits; blank lines and `#` comments allowed; text after the
 * hash on its line, as opentracker's files allow, is the torrent's name on the dashboard, if
 * wanted: `<hex> ubuntu-24.04.iso`). Re-read on SIGHUP: swarms stay.
 */
import { readFile } from 'node:fs/promises';
import type { TorrentFilter } from './service.ts';

/** A list file larger than this is refused (10 million torrents are 410 MB of hex lines). */
const MAX_LIST_BYTES = 512 * 1024 * 1024;
/** A name is cut to this many characters (it is shown in a table cell). */
const MAX_NAME_CHARS = 200;

/**
 * The info_hashes of a list file's text (read as latin1); throws on a line that is neither a hash
 * nor a comment. With `names`, the text after each hash (UTF-8, a leading `#` dropped) goes there.
 */
export function parseTorrentList(text: string, file: string, names?: Map<string, string>): Set<string> {
  const hashes = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const hex = line.slice(0, 40);
    if (!/^[0-9a-fA-F]{40}$/.test(hex) || (line.length > 40 && !/\s/.test(line[40]!))) {
      throw new Error(`${file}:${i + 1}: not a 40-hex-digit info_hash`);
    }
    hashes.add(hex.toLowerCase());
    const rest = line.slice(40).trim().replace(/^#\s*/, '');
    if (names !== undefined && rest !== '') names.set(hex.toLowerCase(), Buffer.from(rest, 'latin1').toString('utf8').slice(0, MAX_NAME_CHARS));
  }
  return hashes;
}

export async function readTorrentList(file: string, names?: Map<string, string>): Promise<Set<string>> {
  const text = await readFile(file, 'latin1');
  if (text.length > MAX_LIST_BYTES) throw new Error(`${file}: larger than ${MAX_LIST_BYTES} bytes`);
  return parseTorrentList(text, file, names);
}

/** The whitelist (only these) and blacklist (never these) as one filter, reloadable in place. */
export class TorrentLists implements TorrentFilter {
  private allowed: Set<string> | null = null;
  private denied: Set<string> | null = null;
  /** Names from the whitelist's lines (the dashboard's). */
  private names = new Map<string, string>();

  constructor(
    readonly whitelistFile: string | undefined,
    readonly blacklistFile: string | undefined,
  ) {}

  get active(): boolean {
    return this.whitelistFile !== undefined || this.blacklistFile !== undefined;
  }

  /**
   * Read both files; on any error the lists in force are kept (a bad edit does not open a private
   * tracker to the world) and the error is thrown for the caller to report.
   */
  async load(): Promise<{ whitelisted: number | null; blacklisted: number | null }> {
    const names = new Map<string, string>();
    const allowed = this.whitelistFile === undefined ? null : await readTorrentList(this.whitelistFile, names);
    const denied = this.blacklistFile === undefined ? null : await readTorrentList(this.blacklistFile);
    this.allowed = allowed;
    this.denied = denied;
    this.names = names;
    return { whitelisted: allowed?.size ?? null, blacklisted: denied?.size ?? null };
  }

  /** The whitelist's name for a torrent (lowercase hex), if its line gave one. */
  nameOf(infoHashHex: string): string | undefined {
    return this.names.get(infoHashHex);
  }

  allows(infoHash: Buffer): boolean {
    if (this.allowed === null && this.denied === null) return true;
    const hex = infoHash.toString('hex');
    if (this.allowed !== null && !this.allowed.has(hex)) return false;
    return this.denied === null || !this.denied.has(hex);
  }
}
