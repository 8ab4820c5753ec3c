/**
 * A failed listen, said once and with what to do: the raw error repeats the address and names
 * no flag (`listen EADDRINUSE: address already in use 127.0.0.1:5001`). Pure.
 */
import { hostPort } from '../bittorrent/address.ts';

/** `what` is the port's role for the user (`port`, `UDP port`), `flag` the option that changes it. */
export function listenErrorMessage(e: NodeJS.ErrnoException, host: string, port: number, flag = '--port', what = 'port'): string {
  const where = hostPort(host, port);
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the ${what} is in use by another program; choose another with ${flag}`;
    case 'EACCES':
      return `cannot listen on ${where}: not allowed (ports below 1024 need root); choose another with ${flag}`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${host} is not an address of this machine; choose another with --host`;
    default:
      return `cannot listen on ${where}: ${e.message}`;
  }
}
