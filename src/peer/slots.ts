/**
 * Connection slots: a global cap, and a cap per address that binds once half of the slots are in
 * use. So one address (one attacker) can never hold more than half of them, and once the server
 * is half full no address gets more than its share; yet a quiet server lets one host use it
 * freely (a swarm of our own programs on one machine, a household behind one NAT address).
 * Addresses are counted by the prefix one party controls: IPv4 /32, IPv6 /64.
 */
import net from 'node:net';

export class SlotPool {
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(
    readonly max: number,
    readonly perAddress: number,
  ) {}

  get used(): number {
    return this.total;
  }

  /** Take a slot for `key` (from `addressKey`); false when refused. Give it back with `release`. */
  take(key: string): boolean {
    const mine = this.byAddress.get(key) ?? 0;
    if (this.total >= this.max) return false;
    if (mine >= this.perAddress && this.total * 2 >= this.max) return false;
    this.byAddress.set(key, mine + 1);
    this.total++;
    return true;
  }

  release(key: string): void {
    const mine = this.byAddress.get(key);
    if (mine === undefined) return;
    if (mine <= 1) this.byAddress.delete(key);
    else this.byAddress.set(key, mine - 1);
    this.total--;
  }
}

/** The part of an address one party controls: IPv4 as is (also IPv4-mapped IPv6), IPv6 its /64. */
export function addressKey(ip: string | undefined): string {
  if (!ip) return '';
  if (ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7))) return ip.slice(7);
  if (!ip.includes(':')) return ip;
  return ipv6Prefix64(ip);
}

/** The first four groups of an IPv6 address, expanded ("2001:db8::1" -> "2001:db8:0:0"). */
function ipv6Prefix64(ip: string): string {
  const zone = ip.indexOf('%');
  const bare = (zone >= 0 ? ip.slice(0, zone) : ip).toLowerCase();
  const [left = '', right] = bare.split('::', 2);
  const head = left ? left.split(':') : [];
  if (right === undefined) return head.slice(0, 4).map(strip).join(':');
  const tail = right ? right.split(':') : [];
  // A trailing dotted IPv4 counts as two groups.
  const tailGroups = tail.length + (tail.length && tail[tail.length - 1]!.includes('.') ? 1 : 0);
  const zeros = Math.max(0, 8 - head.length - tailGroups);
  const groups = [...head, ...new Array<string>(zeros).fill('0'), ...tail];
  return groups.slice(0, 4).map(strip).join(':');
}

function strip(group: string): string {
  return group.replace(/^0+(?=.)/, '');
}
