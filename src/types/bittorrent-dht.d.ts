// bittorrent-dht ships no types: what src/dht/peer-dht.ts and test/dht use of it.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';
  interface DhtNode {
    id?: Buffer;
    host: string;
    port: number;
  }
  interface DhtOptions {
    nodeId?: Buffer;
    bootstrap?: false | string[] | Array<{ host: string; port: number }>;
    host?: string | false;
    socket?: unknown;
    timeout?: number;
    concurrency?: number;
    maxTables?: number;
    maxValues?: number;
    maxPeers?: number;
    maxAge?: number;
    k?: number;
  }
  class DHT extends EventEmitter {
    constructor(opts?: DhtOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    readonly nodes: { toArray(): Array<Required<DhtNode>>; count(): number };
    listen(...args: Array<number | string | (() => void)>): void;
    address(): { address: string; port: number; family: string };
    addNode(node: DhtNode): void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null) => void): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, nodesFound?: number) => void): () => void;
    destroy(cb?: () => void): void;
  }
  export default DHT;
}
