/** The limits of a program's peer side (seeder and requester alike): flags, usage lines, parsing. */
import { die, parsePositiveFlag } from './common.ts';
import { PEER_DEFAULTS, type PeerNodeOptions } from '../peer/peer-node.ts';
import { DHT_FLAGS, DHT_FLAGS_USAGE, parseDhtFlags } from './dht-flags.ts';
import { ENCRYPTION_POLICIES, TRANSPORTS, type EncryptionPolicy, type TransportChoice } from '../peer/transport-options.ts';

export const PEER_FLAGS = {
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'send-timeout': { type: 'string' },
  encryption: { type: 'string' },
  transport: { type: 'string' },
  ...DHT_FLAGS,
} as const;

export const PEER_FLAGS_USAGE = `  --max-connections   most connections at once, HTTP and BitTorrent each (default ${PEER_DEFAULTS.maxConnections})
  --max-connections-per-ip  most HTTP connections from one address (IPv6: one /64) once half of
                      the slots are in use; BitTorrent allows half as many (default ${PEER_DEFAULTS.maxConnectionsPerIp})
  --idle-timeout      seconds a BitTorrent peer may send nothing before it is closed (default ${PEER_DEFAULTS.idleTimeoutMs / 1000})
  --send-timeout      seconds a client may take none of our data before it is closed (default ${PEER_DEFAULTS.sendTimeoutMs / 1000})
  --encryption        MSE/PE: off | allow (accept both, dial plain, retry encrypted: the default)
                      | prefer (dial encrypted) | require (RC4 only, both ways)
  --transport         both (TCP and uTP: the default; dial TCP first) | tcp | utp (dial uTP only)
${DHT_FLAGS_USAGE}`;

function parseCountFlag(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^\d{1,7}$/.test(s) || Number(s) < 1) die(`--${name} must be a whole number from 1`, 2);
  return Number(s);
}

function parseSecondsFlag(v: unknown, name: string): number | undefined {
  return v === undefined ? undefined : parsePositiveFlag(v, name, 0) * 1000;
}

/** The PeerNode options the flags set (undefined: the default); `dir` is the peer's folder (the DHT's table). */
export function parsePeerFlags(values: Record<string, string | boolean | undefined>, dir: string): PeerNodeOptions {
  return {
    maxConnections: parseCountFlag(values['max-connections'], 'max-connections'),
    maxConnectionsPerIp: parseCountFlag(values['max-connections-per-ip'], 'max-connections-per-ip'),
    idleTimeoutMs: parseSecondsFlag(values['idle-timeout'], 'idle-timeout'),
    sendTimeoutMs: parseSecondsFlag(values['send-timeout'], 'send-timeout'),
    encryption: parseChoice(values['encryption'], 'encryption', ENCRYPTION_POLICIES),
    transport: parseChoice(values['transport'], 'transport', TRANSPORTS),
    dht: parseDhtFlags(values, dir),
  };
}

function parseChoice<T extends string>(v: unknown, name: string, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!choices.includes(v as T)) die(`--${name} must be one of ${choices.join(', ')}`, 2);
  return v as T;
}
