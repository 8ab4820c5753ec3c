/**
 * BEP 12 tiers: which trackers a torrent names, and the order they are tried in. No network:
 * `firstAnswer` takes the announce to one tracker as a function, so any transport can use it.
 */

/** The schemes our announcer speaks: HTTP(S) (BEP 3) and UDP (BEP 15). */
const USABLE_TRACKER = /^(https?|udp):\/\//i;

/**
 * The trackers of a torrent as BEP 12 tiers: `announce-list` when present (each tier shuffled
 * once), else `announce`. Trackers of other schemes (wss://, ...) are skipped.
 */
export function trackerTiers(announce: string | undefined, announceList: string[][]): string[][] {
  const usable = (u: string) => USABLE_TRACKER.test(u);
  const fromList = announceList.map((tier) => shuffle(tier.filter(usable))).filter((tier) => tier.length > 0);
  if (fromList.length) return fromList;
  // No usable tracker in announce-list (e.g. only wss://): fall back to `announce`.
  return announce && usable(announce) ? [[announce]] : [];
}

function shuffle<T>(a: T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Try the tiers in order, each tier's trackers in order, until one answers; the one that answered
 * moves to the front of its tier (BEP 12). Throws the last error if none did, and stops at once
 * when `signal` is aborted (out of time: no other tracker either).
 */
export async function firstAnswer<T>(tiers: string[][], tryOne: (tracker: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
  let last: Error = new Error('no tracker to announce to');
  for (const tier of tiers) {
    for (let i = 0; i < tier.length; i++) {
      signal?.throwIfAborted();
      try {
        const reply = await tryOne(tier[i]!);
        if (i > 0) tier.unshift(...tier.splice(i, 1));
        return reply;
      } catch (e) {
        last = e as Error;
      }
    }
  }
  throw last;
}
