/**
 * Pure: which client a peer_id names, for people (the dashboards' peer tables). Azureus-style
 * ids `-XX1234-` (two letters, four version characters) cover nearly every client in use; Mainline's
 * `M7-2-2--` style and aria2's `A2-1-36-0-` too. Anything else is "unknown". The result is plain text; pages render it as text.
 * Also the one rule for showing text from the network (a peer_id, a BEP 10 `v`) to people.
 */

const AZUREUS: Record<string, string> = {
  NB: 'p2p-bittorrent',
  qB: 'qBittorrent',
  TR: 'Transmission',
  UT: 'µTorrent',
  UM: 'µTorrent Mac',
  UW: 'µTorrent Web',
  LT: 'libtorrent',
  lt: 'libTorrent (rakshasa)',
  DE: 'Deluge',
  AZ: 'Vuze',
  BC: 'BitComet',
  BI: 'BiglyBT',
  A2: 'aria2',
  WW: 'WebTorrent',
  WD: 'WebTorrent Desktop',
  KT: 'KTorrent',
  FX: 'Flashget',
  TX: 'Tixati',
  BT: 'BitTorrent',
  FD: 'Free Download Manager',
  PI: 'PicoTorrent',
  SD: 'Thunder',
  XL: 'Xunlei',
  RT: 'rTorrent',
  CT: 'CTorrent',
  CD: 'Enhanced CTorrent',
  HL: 'Halite',
  BF: 'BitFlu',
  TT: 'TuoTu',
  LW: 'LimeWire',
};

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** Four version characters -> "4.5.2" (a trailing zero part dropped; letters kept as they are). */
function azureusVersion(v: string): string {
  const parts = [...v].map((c) => (/[0-9]/.test(c) ? c : String(c.charCodeAt(0) - (c >= 'a' ? 87 : 55))));
  if (parts.length > 3 && parts[3] === '0') parts.pop();
  return parts.join('.');
}

/** The client a peer_id names, e.g. "qBittorrent 4.5.2", "unknown" when it names none we know. */
export function clientName(peerId: Uint8Array): string {
  if (peerId.length < 8) return 'unknown';
  const b = peerId;
  if (b[0] === 0x2d && b[7] === 0x2d && isAlnum(b[1]!) && isAlnum(b[2]!) && [3, 4, 5, 6].every((i) => isAlnum(b[i]!))) {
    const code = String.fromCharCode(b[1]!, b[2]!);
    const version = azureusVersion(String.fromCharCode(b[3]!, b[4]!, b[5]!, b[6]!));
    return `${AZUREUS[code] ?? `unknown client ${code}`} ${version}`;
  }
  // Mainline: M7-2-2-- (letter, then digits and dashes).
  const head = Buffer.from(b.subarray(0, 8)).toString('latin1');
  const mainline = /^([MQ])(\d+)-(\d+)-(\d+)-/.exec(head);
  if (mainline) return `${mainline[1] === 'M' ? 'BitTorrent (Mainline)' : 'Queen Bee'} ${mainline[2]}.${mainline[3]}.${mainline[4]}`;
  const aria2 = /^A2-(\d+)-(\d+)-(\d+)-/.exec(Buffer.from(b).toString('latin1'));
  if (aria2) return `aria2 ${aria2[1]}.${aria2[2]}.${aria2[3]}`;
  return 'unknown';
}

/** What stands in for a character that cannot be shown as itself. */
const HIDDEN = '·';

/**
 * Control characters (C0, DEL, C1) and invisible format characters: either can rewrite a log
 * line or a page's text (a newline, an escape sequence, a right-to-left override).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}]/gu;

/** Network text (a BEP 10 `v`) made safe to show: every unprintable character as "·", the rest kept (µTorrent stays µTorrent). */
export function printableText(text: string): string {
  return text.replace(UNPRINTABLE, HIDDEN);
}

/** A peer_id as printable text: its bytes are not text in any encoding, so only ASCII stands for itself, every other byte as "·". */
export function printableId(peerId: Uint8Array): string {
  let s = '';
  for (const c of peerId) s += c < 0x80 ? String.fromCharCode(c) : HIDDEN;
  return printableText(s);
}
