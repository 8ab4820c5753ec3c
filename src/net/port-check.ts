/**
 * Is a TCP port ours to listen on? Asked before a program writes anything (a torrent, a `.part`),
 * so a busy port costs the user nothing on disk. (The real listen comes later and may still
 * lose a race: then it fails with the same message.)
 */
import net from 'node:net';
import { listenErrorMessage } from './listen-error.ts';

/** Resolves when host:port can be listened on; rejects with a one-line message otherwise. */
export function checkPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => reject(new Error(listenErrorMessage(e, host, port))));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
