/**
 * A send-progress deadline: while bytes wait on a client (written, not yet taken by it), the
 * client must take some within `ms`, or `onStall` runs (the connection is closed). Time spent
 * waiting on ourselves (disk, the upload cap) does not count: call `idle()` around it.
 * Node's request and keep-alive timeouts do not cover an answer in progress; this does.
 */
export class SendWatchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onStall: () => void,
  ) {}

  /** Bytes wait on the client from now on (or it just took some): the deadline restarts. */
  waiting(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(this.onStall, this.ms);
    this.timer.unref();
  }

  /** Nothing waits on the client. */
  idle(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
