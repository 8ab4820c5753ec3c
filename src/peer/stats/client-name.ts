/**
 * Pure: a client's name for people, from its BEP 10 handshake `v` when it sent one, else from the
 * peer_id's prefix (Azureus style `-TR3000-`, as most clients use, or aria2's `A2-1-36-0-`).
 * What comes back is still text from the network: the page renders it as text only.
 */

/** Azureus-style two-letter codes of the clients one meets (and ours, NB). */
const AZUREUS_CODES: Record<string, string> = {
  NB: 'p2p-bittorrent',
  LT: 'libtorrent',
  lt: 'libTorrent (rakshasa)',
  qB: 'qBittorrent',
  TR: 'Transmission',
  UT: 'µTorrent',
  UM: 'µTorrent Mac',
  DE: 'Deluge',
  AZ: 'Vuze',
  BI: 'BiglyBT',
  BC: 'BitComet',
  WW: 'WebTorrent',
  WD: 'WebTorrent Desktop',
  CD: 'Enhanced CTorrent',
  KT: 'KTorrent',
  FD: 'Free Download Manager',
  RT: 'rTorrent',
  TX: 'Tixati',
};

/** Longest client name passed on (a `v` is bounded to 100 bytes already). */
const MAX_NAME = 64;

/** No control characters: a peer_id is 20 arbitrary bytes, a `v` any text. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** `-TR3000-` -> `Transmission 3000`; aria2's `A2-1-36-0-` -> `aria2 1.36.0`; else undefined. */
export function clientFromPeerId(peerId: Buffer): string | undefined {
  if (peerId.length !== 20) return undefined;
  const head = peerId.subarray(0, 8).toString('latin1');
  const az = /^-([A-Za-z0-9]{2})([A-Za-z0-9]{4})-$/.exec(head);
  if (az) {
    const name = AZUREUS_CODES[az[1]!] ?? `client ${az[1]}`;
    return `${name} ${az[2]}`;
  }
  const aria2 = /^A2-(\d+)-(\d+)-(\d+)-/.exec(peerId.toString('latin1'));
  if (aria2) return `aria2 ${aria2[1]}.${aria2[2]}.${aria2[3]}`;
  return undefined;
}

/** The name to show: `v` if given, else the peer_id's client, else the peer_id's first 8 bytes. */
export function clientName(peerId: Buffer | undefined, v: string | undefined): string {
  const trimmed = v?.trim();
  if (trimmed) return printable(trimmed).slice(0, MAX_NAME);
  if (!peerId) return 'unknown';
  return clientFromPeerId(peerId) ?? `unknown (${printable(peerId.subarray(0, 8).toString('latin1'))})`;
}
