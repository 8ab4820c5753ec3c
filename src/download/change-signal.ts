/** Wakes every waiter on the next change; each waiter also gives up after its own timeout. */
export class ChangeSignal {
  private waiters: Array<() => void> = [];

  /** Resolves on the next notify(), or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
