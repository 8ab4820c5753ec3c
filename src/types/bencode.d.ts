// The `bencode` package ships no types. We only use its encoder (see src/metainfo/bencode.ts).
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    byteLength(value: unknown): number;
  };
  export default bencode;
}
