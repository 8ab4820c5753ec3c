/**
 * A wire connection's liveness: a keep-alive out every minute, and a deadline on what comes in.
 * Idle means nothing *received*: a socket timeout would be reset by our own keep-alives.
 */
export class Liveness {
  private readonly keepAlive: NodeJS.Timeout;
  private idleTimer: NodeJS.Timeout;
  /** When the peer last sent us a byte (performance.now()). */
  private lastReceived = performance.now();

  constructor(
    private readonly idleTimeoutMs: number,
    sendKeepAlive: () => void,
    private readonly onIdle: (quietSeconds: number) => void,
    keepAliveMs = 60_000,
  ) {
    this.idleTimer = setTimeout(() => this.check(), idleTimeoutMs);
    this.idleTimer.unref();
    this.keepAlive = setInterval(sendKeepAlive, keepAliveMs);
    this.keepAlive.unref();
  }

  received(): void {
    this.lastReceived = performance.now();
  }

  stop(): void {
    clearInterval(this.keepAlive);
    clearTimeout(this.idleTimer);
  }

  private check(): void {
    const quiet = performance.now() - this.lastReceived;
    if (quiet >= this.idleTimeoutMs) return this.onIdle(Math.round(quiet / 1000));
    this.idleTimer = setTimeout(() => this.check(), this.idleTimeoutMs - quiet);
    this.idleTimer.unref();
  }
}
