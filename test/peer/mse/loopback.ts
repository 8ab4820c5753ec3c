/** Test helper: a connected pair of real TCP sockets on 127.0.0.1. */
import net from 'node:net';

export interface SocketPair {
  client: net.Socket;
  server: net.Socket;
  close(): Promise<void>;
}

export async function socketPair(): Promise<SocketPair> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const server = await accepted;
  return {
    client,
    server,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** The first chunk a socket receives (what the peer's sniffer hands over). */
export function firstChunk(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    socket.once('data', (c: Buffer) => {
      socket.pause();
      resolve(c);
    });
    socket.once('error', reject);
  });
}

/** Resolve with the outcome, never reject: for tests that expect one side to fail. */
export async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: Error }> {
  try {
    return { value: await p };
  } catch (e) {
    return { error: e as Error };
  }
}
