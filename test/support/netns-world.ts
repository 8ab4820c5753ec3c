/**
 * One real-client test's world: a loopback-only network namespace, a temp folder, and every
 * process started in them (our CLIs and real clients), all removed together.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, runCli, runProgram, startTracker, tempDir, type Proc, within } from './procs.ts';
import { createNetns, type Netns } from './netns.ts';
import { parseMetainfo, type Metainfo } from '../../src/metainfo/metainfo.ts';

export class NetnsWorld {
  readonly procs: Proc[] = [];
  private constructor(
    readonly ns: Netns,
    readonly dir: string,
    private readonly removeDir: () => Promise<void>,
  ) {}

  static async create(prefix: string): Promise<NetnsWorld> {
    const { dir, remove } = await tempDir(prefix);
    try {
      return new NetnsWorld(createNetns(), dir, remove);
    } catch (e) {
      await remove();
      throw e;
    }
  }

  /** One of our CLIs, inside the namespace. */
  cli(entry: 'tracker' | 'seeder' | 'requester', args: string[], cwd = this.dir): Proc {
    return this.adopt(runCli(entry, args, { cwd, netns: this.ns.name }));
  }

  /** Any program, inside the namespace. */
  program(label: string, argv: string[], cwd = this.dir): Proc {
    return this.adopt(runProgram(label, this.ns.wrap(argv), { cwd }));
  }

  adopt(p: Proc): Proc {
    this.procs.push(p);
    return p;
  }

  /** Our tracker in the namespace, re-announce interval 2 s. */
  async tracker(): Promise<{ port: number; announce: string; proc: Proc }> {
    const t = await startTracker(this.dir, ['--interval', '2'], this.ns.name);
    this.adopt(t.proc);
    return t;
  }

  /** Our seeder on `file` (in this.dir); resolves once it serves. */
  async seeder(file: string, tracker: string, extra: string[] = []): Promise<{ proc: Proc; port: number; torrentPath: string; meta: Metainfo }> {
    const port = await freePort();
    const proc = this.cli('seeder', [file, '--port', String(port), '--tracker', tracker, '--dir', `seed_${port}`, '--requester-dir', `req_${port}`, ...extra]);
    await proc.waitFor(new RegExp(`^\\* Running on http://127\\.0\\.0\\.1:${port}$`, 'm'));
    const torrentPath = path.join(this.dir, `${file}.torrent`);
    return { proc, port, torrentPath, meta: parseMetainfo(await readFile(torrentPath)) };
  }

  /** GET a URL from inside the namespace (node:http: fetch refuses some ports); null when nothing answers. */
  async tryGet(url: string): Promise<{ status: number; body: Buffer } | null> {
    const script =
      "const http=require('node:http');" +
      'http.get(process.argv[1],(r)=>{const c=[];r.on("data",(d)=>c.push(d));' +
      'r.on("end",()=>process.stdout.write(JSON.stringify({status:r.statusCode,body:Buffer.concat(c).toString("base64")})))})' +
      '.on("error",(e)=>{console.error(e.message);process.exit(1)})';
    const p = this.program('get', [process.execPath, '-e', script, url]);
    if ((await within(p.exited, 10_000, `GET ${url}`)) !== 0) return null;
    const r = JSON.parse(p.out()) as { status: number; body: string };
    return { status: r.status, body: Buffer.from(r.body, 'base64') };
  }

  /** GET a URL from inside the namespace; something must answer. */
  async get(url: string): Promise<{ status: number; body: Buffer }> {
    const r = await this.tryGet(url);
    assert.ok(r, `GET ${url}: nothing answered`);
    return r;
  }

  /** A peer's /stats (seeder or requester). */
  async stats(port: number): Promise<{ uploaded: number }> {
    const r = await this.get(`http://127.0.0.1:${port}/stats`);
    assert.equal(r.status, 200);
    return JSON.parse(r.body.toString()) as { uploaded: number };
  }

  /** Kill everything (SIGKILL), remove the namespace and the folder. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => within(p.exited, 5000, 'exit').catch(() => null)));
    this.ns.remove();
    await this.removeDir();
  }
}

/** Run `body` in a fresh world, cleaned up whatever happens. */
export async function withNetnsWorld(prefix: string, body: (w: NetnsWorld) => Promise<void>): Promise<void> {
  const w = await NetnsWorld.create(prefix);
  try {
    await body(w);
  } finally {
    await w.cleanup();
  }
}
