/**
 * libtorrent (Debian's python3-libtorrent, 2.0) as a judge and an anchor, for test/ and bench/:
 * one process of harness/lt-peer.py per peer, a seeder or a leecher of one .torrent, configured
 * by JSON, reporting JSON lines (harness/lt-peer.py's docstring has the format).
 *
 *   if (!requireLibtorrent(t)) return;
 *   await makeTorrentWithLibtorrent({ file, torrent, pieceLength: 65536, tracker });
 *   const seeder = await startLibtorrent(ns, { role: 'seeder', torrent, save_path: dir });
 *   await seeder.waitFor((l) => l.state === 'seeding');
 *   const leecher = await startLibtorrent(ns, { role: 'leecher', torrent, save_path: other });
 *   const done = await leecher.finished(60_000);   // the 'finished' line; the process exited 0
 *   done.seen.find((p) => p.port === ourPort)?.flags.includes('utp');
 *   await seeder.stop();
 *
 * Runs /usr/bin/python3 (the interpreter that has the binding), inside a network namespace when
 * given one (libtorrent must see loopback only: its DHT, LSD, UPnP and NAT-PMP are off anyway).
 */
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, runProgram, type Proc } from './procs.ts';

export const LT_PYTHON = '/usr/bin/python3';
export const LT_PEER_SCRIPT = path.join(ROOT, 'harness', 'lt-peer.py');

/** What lt-peer.py takes (libtorrent's own setting names where there is one). */
export interface LtConfig {
  role: 'seeder' | 'leecher';
  torrent: string;
  /** The folder that holds (seeder) or receives (leecher) the torrent's data. */
  save_path: string;
  /** 0 (the default): any free port; the handle's `port` says which. */
  listen_port?: number;
  listen_host?: string;
  /** "ip:port" peers to dial besides those from the torrent's tracker. */
  peers?: string[];
  /** BEP 16: offer each peer one piece at a time (libtorrent's torrent_flags::super_seeding). */
  super_seeding?: boolean;
  /** Trust the seeder's files without hashing them first (faster start for big files). */
  seed_mode?: boolean;
  /** A leecher re-reads its whole file (force_recheck) before it reports finished. */
  recheck?: boolean;
  out_enc_policy?: 'forced' | 'enabled' | 'disabled';
  in_enc_policy?: 'forced' | 'enabled' | 'disabled';
  allowed_enc_level?: 'rc4' | 'plaintext' | 'both';
  enable_outgoing_tcp?: boolean;
  enable_incoming_tcp?: boolean;
  enable_outgoing_utp?: boolean;
  enable_incoming_utp?: boolean;
  /** Bytes per second, applied to loopback peers too; 0 (the default) = unlimited. */
  upload_rate_limit?: number;
  download_rate_limit?: number;
  /** Count the messages each peer sends (peer_log alerts: costly, for tests, not benchmarks). */
  log_messages?: boolean;
  /** Period of the status lines (default 1000). */
  status_interval_ms?: number;
  /** Any other libtorrent settings_pack key, applied last. */
  settings?: Record<string, number | boolean | string>;
}

export type LtPeerFlag =
  | 'interesting' | 'choked' | 'remote_interested' | 'remote_choked' | 'supports_extensions'
  | 'outgoing' | 'seed' | 'upload_only' | 'utp' | 'rc4' | 'plaintext_encrypted';

/** One peer as libtorrent sees it (peer_info). */
export interface LtPeer {
  ip: string;
  port: number;
  client: string;
  flags: LtPeerFlag[];
  /** How libtorrent learnt of it: tracker, incoming, pex, dht, lsd, resume_data. */
  source: string[];
  total_upload: number;
  total_download: number;
  /** With log_messages: how many of each message the peer sent (HAVE_ALL, EXTENDED_HANDSHAKE, PIECE...). */
  messages?: Record<string, number>;
}

/** One line of lt-peer.py. Status fields are on status/finished/stopped lines. */
export interface LtLine {
  event: 'listening' | 'status' | 'alert' | 'finished' | 'stopped' | 'created';
  /** Seconds since the process started. */
  t: number;
  port?: number;
  state?: string;
  progress?: number;
  num_pieces?: number;
  total_upload?: number;
  total_download?: number;
  total_payload_upload?: number;
  total_payload_download?: number;
  total_failed_bytes?: number;
  super_seeding?: boolean;
  num_peers?: number;
  peers?: LtPeer[];
  /** On the last line: every peer met during the run, flags OR-ed over time. */
  seen?: LtPeer[];
  type?: string;
  message?: string;
}

export interface LibtorrentPeer {
  proc: Proc;
  /** The TCP/uTP port it listens on. */
  port: number;
  /** Every JSON line so far. */
  lines(): LtLine[];
  /** The newest status/finished/stopped line. */
  last(): LtLine | undefined;
  /** Resolve with the first line (past or future) that satisfies `match`; reject on exit or timeout. */
  waitFor(match: (l: LtLine) => boolean, timeoutMs?: number, what?: string): Promise<LtLine>;
  /** A leecher's end: its 'finished' line once it exited 0. */
  finished(timeoutMs: number): Promise<LtLine & { seen: LtPeer[] }>;
  /** SIGTERM, wait for the exit; the 'stopped' line (undefined if it died without one). */
  stop(timeoutMs?: number): Promise<LtLine | undefined>;
  /** The last lines of stdout/stderr, for assertion messages. */
  transcript(): string;
}

let available: string | null | undefined;

/** Undefined when libtorrent is usable, else the reason with the apt-get line. */
export function libtorrentMissing(): string | undefined {
  if (available === undefined) {
    try {
      execFileSync(LT_PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 10_000 });
      available = null;
    } catch {
      available = `libtorrent for ${LT_PYTHON} not installed: apt-get install -y python3-libtorrent`;
    }
  }
  return available ?? undefined;
}

export function hasLibtorrent(): boolean {
  return libtorrentMissing() === undefined;
}

/** Is libtorrent there? If not: under CI=true the test fails, otherwise it is skipped with the reason. */
export function requireLibtorrent(t: { skip(msg: string): void }): boolean {
  const why = libtorrentMissing();
  if (why === undefined) return true;
  if (process.env['CI'] === 'true') throw new Error(`${why} (required under CI=true)`);
  t.skip(why);
  return false;
}

/** The JSON lines of `text` (a last, unfinished line is left for later). */
function parseLines(text: string): LtLine[] {
  const full = text.slice(0, text.lastIndexOf('\n') + 1);
  return full
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LtLine);
}

function tail(s: string, n = 4000): string {
  return s.length > n ? '...' + s.slice(-n) : s;
}

/** lt-peer.py as `label`, in namespace `netns` (its name) or in this one. */
function spawnLtPeer(label: string, netns: { name: string } | string | undefined, config: object, cwd: string): Proc {
  const argv = [LT_PYTHON, LT_PEER_SCRIPT, JSON.stringify(config)];
  const ns = typeof netns === 'string' ? netns : netns?.name;
  return runProgram(label, ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv, { cwd });
}

/**
 * Start one libtorrent peer; resolves once it listens (rejects with its stderr if it exits
 * first: torrent refused, port taken). Relative paths in `config` are relative to `cwd`.
 */
export async function startLibtorrent(
  netns: { name: string } | string | undefined,
  config: LtConfig,
  opts: { cwd?: string; label?: string } = {},
): Promise<LibtorrentPeer> {
  const label = opts.label ?? `libtorrent ${config.role}`;
  const proc = spawnLtPeer(label, netns, config, opts.cwd ?? ROOT);
  let cache: { upTo: number; lines: LtLine[] } = { upTo: 0, lines: [] };
  const lines = () => {
    const out = proc.out();
    if (out.length !== cache.upTo) cache = { upTo: out.length, lines: parseLines(out) };
    return cache.lines;
  };
  const transcript = () => `--- ${label} stdout:\n${tail(proc.out())}\n--- ${label} stderr:\n${tail(proc.err())}`;
  const waitFor = (match: (l: LtLine) => boolean, timeoutMs = 30_000, what = 'a matching line') =>
    new Promise<LtLine>((resolve, reject) => {
      const found = () => lines().find(match);
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        clearTimeout(timer);
        proc.child.stdout!.off('data', check);
        proc.child.off('close', onClose);
        if (err) reject(err);
        else resolve(found()!);
      };
      const check = () => void (found() && done());
      // 'close' comes once the process exited and its last stdout bytes were read.
      const onClose = () => (found() ? done() : done(new Error(`${label} exited (${proc.child.exitCode}) before ${what}\n${transcript()}`)));
      timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${label}\n${transcript()}`)), timeoutMs);
      proc.child.stdout!.on('data', check);
      proc.child.once('close', onClose);
      if (found()) done();
      else if (proc.child.stdout!.closed && (proc.child.exitCode !== null || proc.child.signalCode !== null)) onClose();
    });

  const listening = await waitFor((l) => l.event === 'listening', 20_000, 'its listening line');
  const latest = () => lines().filter((l) => l.event === 'status' || l.event === 'finished' || l.event === 'stopped').at(-1);
  return {
    proc,
    port: listening.port!,
    lines,
    last: latest,
    waitFor,
    transcript,
    async finished(timeoutMs) {
      const line = await waitFor((l) => l.event === 'finished', timeoutMs, 'its finished line');
      const code = await exitWithin(proc, 10_000);
      if (code !== 0) throw new Error(`${label} finished but exited ${code}\n${transcript()}`);
      return line as LtLine & { seen: LtPeer[] };
    },
    async stop(timeoutMs = 15_000) {
      proc.kill('SIGTERM');
      await exitWithin(proc, timeoutMs).catch(() => proc.kill('SIGKILL'));
      await exitWithin(proc, 5000);
      return lines().find((l) => l.event === 'stopped');
    },
  };
}

function exitWithin(proc: Proc, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    proc.exited.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${ms} ms without exit`)), ms))),
  ]);
}

/**
 * A v1 .torrent of `file` made by libtorrent (create_torrent + set_piece_hashes), written to
 * `torrent`: a torrent that owes nothing to our own metainfo code. No network, no namespace.
 */
export function makeTorrentWithLibtorrent(opts: { file: string; torrent: string; pieceLength: number; tracker?: string }): Promise<{ infoHash: string; numPieces: number; pieceLength: number }> {
  const config = { role: 'create', file: opts.file, torrent: opts.torrent, piece_length: opts.pieceLength, tracker: opts.tracker };
  return new Promise((resolve, reject) => {
    execFile(LT_PYTHON, [LT_PEER_SCRIPT, JSON.stringify(config)], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`libtorrent could not make ${opts.torrent}: ${stderr.trim() || err.message}`));
      const line = parseLines(stdout).find((l) => l.event === 'created') as unknown as { info_hash: string; num_pieces: number; piece_length: number } | undefined;
      if (!line) return reject(new Error(`lt-peer.py create said nothing: ${stdout}`));
      resolve({ infoHash: line.info_hash, numPieces: line.num_pieces, pieceLength: line.piece_length });
    });
  });
}
