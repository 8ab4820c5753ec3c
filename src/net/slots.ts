/**
 * Connection slots: a global cap, and a cap per address that binds once half of the slots are in
 * use. So one address (one attacker) can never hold more than half of them, and once the server
 * is half full no address gets more than its share; yet a quiet server lets one host use it
 * freely (a swarm of our own programs on one machine, a household behind one NAT address).
 * Addresses are counted by the prefix one party controls: IPv4 /32, IPv6 /64.
 */

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

  /** Take a slot for `key` (an addressPrefix); false when refused. Give it back with `release`. */
  take(key: string): boolean {
    const mine = this.byAddress.get(key) ?? 0;
    if (this.total >= this.max) return false;
    if (mine >= this.perAddress && this.total * 2 >= this.max) return false;
    this.byAddress.set(key, mine + 1);
    this.total++;
    return true;
  }

  /** Take a slot that counts only in the total (an exempt address); give it back with `releaseExempt`. */
  takeExempt(): boolean {
    if (this.total >= this.max) return false;
    this.total++;
    return true;
  }

  releaseExempt(): void {
    this.total--;
  }

  release(key: string): void {
    const mine = this.byAddress.get(key);
    if (mine === undefined) return;
    if (mine <= 1) this.byAddress.delete(key);
    else this.byAddress.set(key, mine - 1);
    this.total--;
  }
}
