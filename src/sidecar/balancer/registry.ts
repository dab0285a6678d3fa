/**
 * @module sidecar/balancer/registry
 * Balancing strategies by name. Config picks one with a string
 * (`servicecomb.loadbalance[.<service>].strategy.name`, case-insensitive, `_`/`-` ignored, so
 * `round_robin` works too); `createBalancer` builds a fresh instance per service and validates the
 * strategy's options when it is built. Tests loop over `balancerNames()` so every registered
 * strategy runs the contract suite in test/contract/balancer.ts.
 */
import { type Clock, type Random, systemClock, systemRandom } from '../../shared/clock.ts';
import type { BalancerDeps } from './base.ts';
import { BalancerConfigError } from './errors.ts';
import { createLeastLoaded } from './least-loaded.ts';
import { createRandom } from './random.ts';
import { createRoundRobin } from './round-robin.ts';
import { createSessionStickiness } from './session-stickiness.ts';
import type { Balancer } from './types.ts';
import { createWeightedResponse } from './weighted-response.ts';

/** Builds one balancer; throws BalancerConfigError INVALID_BALANCER_OPTION for bad `options`. */
export type BalancerFactory = (deps: BalancerDeps, options?: unknown) => Balancer;

export interface CreateBalancerDeps {
  readonly clock?: Clock;
  readonly random?: Random;
  /** Strategy-specific options (e.g. SessionStickiness `sessionTimeoutInSeconds`); unknown keys are rejected. */
  readonly options?: unknown;
}

/** The strategy used when config names none: power-of-two-choices on in-flight calls. */
export const DEFAULT_BALANCER = 'LeastLoaded';

const registry = new Map<string, { readonly name: string; readonly factory: BalancerFactory }>();

function normalize(name: string): string {
  return String(name)
    .toLowerCase()
    .replace(/[-_\s]/g, '');
}

/** Register a strategy under `name` (its canonical spelling). Throws if the name is taken. */
export function registerBalancer(name: string, factory: BalancerFactory): void {
  const key = normalize(name);
  if (key === '') throw new TypeError('a balancer name must not be empty');
  const existing = registry.get(key);
  if (existing !== undefined) {
    throw new BalancerConfigError(
      'DUPLICATE_BALANCER',
      `balancer "${name}" is already registered as "${existing.name}"`,
    );
  }
  registry.set(key, { name, factory });
}

/** Canonical names of every registered strategy, in registration order. */
export function balancerNames(): readonly string[] {
  return [...registry.values()].map((e) => e.name);
}

/** The canonical spelling of `name`, or undefined when no strategy has that name. */
export function resolveBalancerName(name: string): string | undefined {
  return registry.get(normalize(name))?.name;
}

/**
 * A new balancer of strategy `name`. Throws BalancerConfigError UNKNOWN_BALANCER (naming the valid
 * choices) for an unknown name, INVALID_BALANCER_OPTION for bad options.
 */
export function createBalancer(name: string, deps: CreateBalancerDeps = {}): Balancer {
  const entry = registry.get(normalize(name));
  if (entry === undefined) {
    throw new BalancerConfigError(
      'UNKNOWN_BALANCER',
      `unknown load balancing strategy "${name}"; valid choices: ${balancerNames().join(', ')}`,
    );
  }
  const resolved: BalancerDeps = { clock: deps.clock ?? systemClock, random: deps.random ?? systemRandom };
  return entry.factory(resolved, deps.options);
}

// Built-in strategies (the default first).
registerBalancer('LeastLoaded', (deps, options) =>
  withNoOptions('LeastLoaded', options, createLeastLoaded(deps)),
);
registerBalancer('RoundRobin', (deps, options) =>
  withNoOptions('RoundRobin', options, createRoundRobin(deps)),
);
registerBalancer('Random', (deps, options) => withNoOptions('Random', options, createRandom(deps)));
registerBalancer('WeightedResponse', createWeightedResponse);
registerBalancer('SessionStickiness', createSessionStickiness);

function withNoOptions(name: string, options: unknown, balancer: Balancer): Balancer {
  if (
    options !== undefined &&
    options !== null &&
    (typeof options !== 'object' || Object.keys(options).length > 0)
  ) {
    throw new BalancerConfigError('INVALID_BALANCER_OPTION', `${name}: it takes no options`);
  }
  return balancer;
}
