/** A first-come, first-served lock for one connection's turns. */
export class Mutex {
  #locked = false;
  readonly #waiting: (() => void)[] = [];

  get locked(): boolean {
    return this.#locked;
  }

  /** How many are in line behind the holder. */
  get queued(): number {
    return this.#waiting.length;
  }

  async lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /**
   * Like lock(), but waits at most `ms`: false, and out of the line, when the lock did not come in
   * time.
   */
  async lockWithin(ms: number): Promise<boolean> {
    if (!this.#locked) {
      this.#locked = true;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const granted = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.#waiting.indexOf(granted);
        if (at >= 0) this.#waiting.splice(at, 1);
        resolve(false);
      }, ms);
      this.#waiting.push(granted);
    });
  }

  /** Hands the lock to the next in line, or frees it. */
  unlock(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#locked = false;
  }
}
