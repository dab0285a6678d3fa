/**
 * @module sidecar/chain/compose
 * Builds a chain once per config version. `compose([a, b, c], terminal)` returns a handler whose
 * per-request cost is only the step calls themselves: every `next` function is created here, at
 * build time, not per request (STYLE.md practice 2).
 */
import { MeshError } from '../../shared/errors.ts';
import type { Handler, Next, Step } from './types.ts';

const endOfChain: Next = async () => {
  // A chain must end in a step that answers (transport). Reaching past it is a wiring bug.
  throw new MeshError('INTERNAL', { message: 'The proxy chain ended without a transport step' });
};

/** Compose steps into one handler. The last step usually never calls `next` (it is the transport). */
export function compose(steps: readonly Step[], terminal: Next = endOfChain): Handler {
  let next: Next = terminal;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    const after = next;
    next = (call) => step(call, after);
  }
  return next;
}

/**
 * A slot whose value is swapped atomically when config changes: listeners read `current` once per
 * request and keep what they read, so calls in flight finish on the chain they started with.
 */
export class Slot<T> {
  #current: T;
  #version = 0;

  constructor(initial: T) {
    this.#current = initial;
  }

  get current(): T {
    return this.#current;
  }

  /** Number of swaps so far (0 for the initial value). */
  get version(): number {
    return this.#version;
  }

  swap(next: T): void {
    this.#current = next;
    this.#version++;
  }
}
