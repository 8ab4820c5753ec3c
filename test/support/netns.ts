/**
 * A network namespace with only loopback, for tests that run real BitTorrent clients: nothing
 * a client does at start-up (DHT bootstrap, UPnP, LPD) can leave the machine.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Netns {
  name: string;
  /** Prefix an argv so it runs inside the namespace. */
  wrap(argv: string[]): string[];
  remove(): void;
}

/** Create a namespace with `lo` up. Needs root and iproute2 (`apt-get install -y iproute2`). */
export function createNetns(): Netns {
  const name = `p2p-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return {
    name,
    wrap: (argv) => ['ip', 'netns', 'exec', name, ...argv],
    remove: () => {
      try {
        execFileSync('ip', ['netns', 'del', name]);
      } catch {
        // already gone
      }
    },
  };
}

/** Can this process create namespaces? If not: fail under CI=true, else skip with the reason. */
export function requireNetns(t: { skip(msg: string): void }): boolean {
  let why: string | null = null;
  if (process.getuid?.() !== 0) why = 'network namespaces need root';
  else {
    try {
      createNetns().remove();
    } catch (e) {
      why = `cannot create a network namespace (${(e as Error).message.split('\n')[0]}); apt-get install -y iproute2`;
    }
  }
  if (why === null) return true;
  if (process.env['CI'] === 'true') throw new Error(`${why} (required under CI=true)`);
  t.skip(why);
  return false;
}

/**
 * Two namespaces joined by a veth pair, `10.213.<n>.1` and `.2` (/24), loopback up in each: two
 * "machines" on a LAN, so traffic between them never takes a loopback shortcut.
 */
export function createVethPair(): { a: Netns; b: Netns; addressA: string; addressB: string; remove(): void } {
  const a = createNetns();
  const b = createNetns();
  const n = 1 + (randomBytes(1)[0]! % 250);
  const [addressA, addressB] = [`10.213.${n}.1`, `10.213.${n}.2`];
  const [ifA, ifB] = [`va${a.name.slice(4)}`, `vb${b.name.slice(4)}`];
  try {
    execFileSync('ip', ['link', 'add', ifA, 'netns', a.name, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.name]);
    for (const [ns, dev, addr] of [[a, ifA, addressA], [b, ifB, addressB]] as const) {
      execFileSync('ip', ['netns', 'exec', ns.name, 'ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
      execFileSync('ip', ['netns', 'exec', ns.name, 'ip', 'link', 'set', dev, 'up']);
    }
  } catch (e) {
    a.remove();
    b.remove();
    throw e;
  }
  return { a, b, addressA, addressB, remove: () => (a.remove(), b.remove()) };
}
