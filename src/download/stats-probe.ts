/**
 * The dashboard's view of a download (DownloadProbe): the pieces being fetched, and every source
 * used so far with the bytes it sent. Read only when a page or a sample asks; the downloader
 * keeps nothing extra for it beyond one sum per finished fetch (SourceState.received).
 */
import type { Downloader } from './downloader.ts';
import type { SourceState } from './source-state.ts';
import type { DownloadProbe, SourceReport } from '../peer/stats/torrent-stats.ts';

export function downloadProbe(d: Downloader): DownloadProbe {
  return {
    get bytesLeft() {
      return d.bytesLeft;
    },
    inFlightPieces: () => d.inProgress.keys(),
    sourceReports: (): SourceReport[] => {
      // Fetches under way count as their bytes arrive, so the rates move smoothly inside a piece.
      const pending = new Map<SourceState, number>();
      for (const fetches of d.inProgress.values()) for (const f of fetches) pending.set(f.state, (pending.get(f.state) ?? 0) + f.received);
      return [...d.gate.all()].map((s) => ({
        id: s.source.id,
        label: s.source.label,
        address: s.source.address,
        pieces: s.pieces,
        received: s.received + (pending.get(s) ?? 0),
        live: !s.dropped,
      }));
    },
  };
}
