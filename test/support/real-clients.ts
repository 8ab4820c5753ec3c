/** Command lines and configs of the real BitTorrent clients the interop tests run, quiet and local. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * aria2c with LPD and peer exchange off, no config file, no progress lines: peers come from the
 * tracker only. DHT is off unless `dht` names where it may listen and its (unreachable) entry
 * point: aria2c's UDP tracker support runs only with DHT on.
 */
export function aria2Argv(args: string[], dht?: { listenPort: number; entryPort: number; file: string }): string[] {
  const dhtFlags = dht
    ? ['--enable-dht=true', `--dht-listen-port=${dht.listenPort}`, `--dht-entry-point=127.0.0.1:${dht.entryPort}`, `--dht-file-path=${dht.file}`]
    : ['--enable-dht=false'];
  return [
    'aria2c',
    '--no-conf',
    ...dhtFlags,
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--bt-tracker-connect-timeout=5',
    '--summary-interval=0',
    '--file-allocation=none',
    ...args,
  ];
}

/** A transmission-cli config folder with DHT, LPD, PEX, port mapping, uTP and RPC off. */
export async function transmissionConfig(dir: string): Promise<string> {
  const cfg = path.join(dir, 'transmission-config');
  await mkdir(cfg, { recursive: true });
  const settings = { 'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'port-forwarding-enabled': false, 'utp-enabled': false, 'rpc-enabled': false };
  await writeFile(path.join(cfg, 'settings.json'), JSON.stringify(settings));
  return cfg;
}
