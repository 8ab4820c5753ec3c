/** BEP 3 bitfield: piece 0 is the high bit of the first byte; spare bits at the end stay zero. */
export class Bitfield {
  readonly bytes: Buffer;
  private setCount = 0;

  constructor(readonly size: number, bytes?: Buffer) {
    this.bytes = Buffer.alloc(Math.ceil(size / 8));
    if (bytes) {
      if (bytes.length !== this.bytes.length) throw new Error(`bitfield of ${bytes.length} bytes for ${size} pieces`);
      const spare = this.bytes.length * 8 - size;
      if (spare > 0 && (bytes[bytes.length - 1]! & ((1 << spare) - 1)) !== 0) throw new Error('bitfield has bits set past the last piece');
      for (let i = 0; i < size; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) this.set(i);
    }
  }

  static full(size: number): Bitfield {
    const b = new Bitfield(size);
    for (let i = 0; i < size; i++) b.set(i);
    return b;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number): void {
    if (i < 0 || i >= this.size || this.has(i)) return;
    this.bytes[i >> 3]! |= 0x80 >> (i & 7);
    this.setCount++;
  }

  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.size;
  }
}
