/**
 * The piece picker: which piece a source should fetch next. Pure (no I/O, no timers, no state
 * of its own): it reads the download's view and returns a choice, so it can be tested alone.
 *
 * Rarest first (fewest live sources hold it); among equals, the piece right after the source's
 * last pick if it is among them (runs of consecutive pieces land in order on disk: random writes
 * into a large file were the slowest part of a download), else a random one (requesters that
 * start together do not all ask a seeder for the same pieces). When every missing piece it holds
 * is being fetched (endgame), it joins a piece fetched by one other source only, or (unless it is
 * slow itself) one whose every fetch is slow: the takeover of pieces held only by slow fetches.
 */

/** What the picker needs of a source in use. */
export interface PickerSource {
  readonly source: { has(piece: number): boolean };
  /** Its last fetch judged was slow (it may then not take others' slow pieces). */
  readonly slow: boolean;
  /** The piece after its last pick (preferred among equally rare ones). */
  readonly cursor: number;
}

/** One fetch under way: by which source, and whether it was judged slow. */
export interface PickerFetch<S extends PickerSource = PickerSource> {
  readonly state: S;
  readonly slow: boolean;
}

export interface PickerView<S extends PickerSource = PickerSource> {
  readonly pieceCount: number;
  /** Held or being written: never fetched again. */
  isDone(piece: number): boolean;
  /** piece -> the fetches under way for it (more than one only in endgame). */
  readonly inProgress: ReadonlyMap<number, ReadonlySet<PickerFetch<S>>>;
  /** The sources in use (not dropped): they decide how rare a piece is. */
  readonly live: readonly S[];
}

export interface Pick {
  piece: number;
  /** Joins a piece others fetch already (endgame): the source's cursor does not move. */
  endgame: boolean;
}

/** The next piece for `state`, or undefined if it holds nothing it may fetch now. */
export function pickPiece<S extends PickerSource>(view: PickerView<S>, state: S, random: () => number = Math.random): Pick | undefined {
  const live = view.live;
  let best: number[] = [];
  let bestCount = Infinity;
  const endgame: number[] = [];
  for (let i = 0; i < view.pieceCount; i++) {
    if (view.isDone(i) || !state.source.has(i)) continue;
    const fetches = view.inProgress.get(i);
    if (fetches) {
      if (joinable(fetches, state)) endgame.push(i);
      continue;
    }
    let count = 0;
    for (const s of live) if (s.source.has(i)) count++;
    if (count < bestCount) {
      bestCount = count;
      best = [i];
    } else if (count === bestCount) {
      best.push(i);
    }
  }
  if (best.length === 0) return endgame.length ? { piece: endgame[Math.floor(random() * endgame.length)]!, endgame: true } : undefined;
  const piece = best.includes(state.cursor) ? state.cursor : best[Math.floor(random() * best.length)]!;
  return { piece, endgame: false };
}

/** May `state` fetch this piece too? Never twice by one source; see pickPiece(). */
export function joinable<S extends PickerSource>(fetches: ReadonlySet<PickerFetch<S>>, state: S): boolean {
  let allSlow = true;
  for (const f of fetches) {
    if (f.state === state) return false;
    if (!f.slow) allSlow = false;
  }
  return fetches.size === 1 || (allSlow && !state.slow);
}
