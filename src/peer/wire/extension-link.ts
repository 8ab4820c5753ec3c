/**
 * The extension protocol (BEP 10) on one connection: our handshake out, theirs in, and the
 * extensions we speak on top (BEP 21 upload_only; BEP 9 ut_metadata, served from the torrent's
 * info dict). Sub-ids we send are the peer's, from its `m` dict; those we receive are ours
 * (OUR_EXTENSIONS).
 */
import net from 'node:net';
import { ipv6Bytes } from '../../bittorrent/address.ts';
import type { Message } from './messages.ts';
import { decodeUtMetadata } from './ut-metadata.ts';
import { MetadataServer } from './ut-metadata-server.ts';
import { decodeExtHandshake, decodeUploadOnly, encodeExtHandshake, encodeUploadOnly, EXTENDED_HANDSHAKE_ID, OUR_EXTENSIONS, type ExtHandshake, type OurHandshake } from './extensions.ts';

export class ExtensionLink {
  /** The peer's handshake, once received. */
  peer: ExtHandshake | undefined;
  /** BEP 21: the peer only uploads (its handshake or an upload_only message said so). */
  uploadOnly = false;
  /** BEP 11: where ut_pex bodies go (set by the PEX hub); none set: they are ignored. */
  onPex: ((payload: Buffer) => void) | undefined;
  private metadata: MetadataServer | undefined;

  constructor(
    private readonly send: (m: Message) => void,
    private readonly onUploadOnly: (yes: boolean) => void,
    /** The exact bytes of the torrent's info dict, served over ut_metadata. */
    private readonly rawInfo: () => Buffer,
  ) {}

  private get metadataServer(): MetadataServer {
    return (this.metadata ??= new MetadataServer(this.rawInfo(), (payload) => {
      const id = this.peer?.m.get('ut_metadata');
      if (id) this.send({ type: 'extended', id, payload });
    }));
  }

  /** Our handshake; `peerAddress` goes back to the peer as `yourip` (4 or 16 bytes). */
  sendHandshake(o: Omit<OurHandshake, 'yourip'>, peerAddress: string): void {
    const family = net.isIP(peerAddress);
    const yourip = family === 4 ? Buffer.from(peerAddress.split('.').map(Number)) : family === 6 ? ipv6Bytes(peerAddress) : undefined;
    const metadataSize = this.metadataServer.size;
    this.send({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload: encodeExtHandshake({ ...o, yourip, metadataSize }) });
  }

  /** An extended message (id 20) with sub-id `id`; a malformed one throws a WireError. */
  receive(id: number, payload: Buffer): void {
    if (id === EXTENDED_HANDSHAKE_ID) {
      this.peer = decodeExtHandshake(payload);
      this.setUploadOnly(this.peer.uploadOnly);
    } else if (id === OUR_EXTENSIONS.upload_only) {
      this.setUploadOnly(decodeUploadOnly(payload));
    } else if (id === OUR_EXTENSIONS.ut_pex) {
      this.onPex?.(payload);
    } else if (id === OUR_EXTENSIONS.ut_metadata) {
      this.metadataServer.receive(decodeUtMetadata(payload));
    }
    // Any other sub-id is an extension we did not offer: ignored (BEP 10).
  }

  /** Tell the peer we now only upload, if it speaks upload_only. */
  tellUploadOnly(): void {
    const id = this.peer?.m.get('upload_only');
    if (id) this.send({ type: 'extended', id, payload: encodeUploadOnly(true) });
  }

  /** Send an extension message under the peer's sub-id for `name`; false if it does not speak it. */
  sendExtension(name: string, payload: Buffer): boolean {
    const id = this.peer?.m.get(name);
    if (!id) return false;
    this.send({ type: 'extended', id, payload });
    return true;
  }

  private setUploadOnly(yes: boolean): void {
    this.uploadOnly = yes;
    this.onUploadOnly(yes);
  }
}
