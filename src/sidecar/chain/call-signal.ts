/**
 * @module sidecar/chain/call-signal
 * "The client went away" for one call, as cheaply as possible. An `AbortController` per request
 * (an EventTarget, Event objects and a DOMException on abort) cost about a tenth of the proxy's
 * CPU per request when profiled; this is a plain object with a tiny listener list instead.
 * Listeners run synchronously, once, in the order added; adding after the abort runs at once.
 */
export class CallSignal {
  #aborted = false;
  #listeners: Array<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Call `fn` when the call is aborted (immediately if it already was). */
  add(fn: () => void): void {
    if (this.#aborted) {
      fn();
      return;
    }
    if (this.#listeners === undefined) this.#listeners = [fn];
    else this.#listeners.push(fn);
  }

  remove(fn: () => void): void {
    const l = this.#listeners;
    if (l === undefined) return;
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
  }

  /**
   * A signal for one attempt of this call (per-try timeouts, retries): aborted when this one is,
   * and abortable on its own without touching this one. Call `detach()` on it when the attempt is
   * settled so the parent does not keep it alive.
   */
  child(): CallSignal & { detach(): void } {
    const child = new CallSignal() as CallSignal & { detach(): void };
    const forward = () => child.abort();
    this.add(forward);
    child.detach = () => this.remove(forward);
    return child;
  }

  /** Abort the call: run every listener once. Later calls do nothing. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const l = this.#listeners;
    this.#listeners = undefined;
    if (l !== undefined) for (const fn of l) fn();
  }
}
