/**
 * @module sidecar/extra-steps
 * Assembles the governance steps that run before load balancing (outbound) and before the local
 * target (inbound), once per config version, in this order:
 *
 *   outbound: observe (metrics, trace, access log) → route → [resilience steps] → egress → load-balance → transport
 *   inbound:  observe → route (records headers to propagate) → [provider-side steps] → local-target → transport
 *
 * Egress (./steps/egress.ts) is last so every resilience step wraps external calls too; it sends
 * external calls through the data plane's transport (`plane.send`) and hands the rest on.
 *
 * Route rules and egress settings follow the validate-or-keep-last-good rule: a config version
 * with invalid ones keeps the previous table (the reason is logged; routes also show it at
 * /v1/mesher/routes). Invalid egress settings at start-up are a ConfigError naming the key.
 */
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/log.ts';
import type { ServiceResilienceView } from './admin/instances.ts';
import type { RouteTableView } from './admin/route-rule.ts';
import type { Step } from './chain/types.ts';
import { ConfigError } from './config/config-error.ts';
import type { SidecarConfig } from './config/types.ts';
import type { PlaneServices } from './data-plane.ts';
import {
  EMPTY_TABLE,
  PropagationStore,
  parsePropagation,
  parseRouteTable,
  type RouteTable,
  reloadRouteTable,
  tableSpecs,
} from './routing/index.ts';
import { type EgressSettings, egressStepFor, parseEgressSettings } from './steps/egress.ts';
import { callerOf, createRoute, type RouteStep } from './steps/route.ts';
import type { Telemetry } from './telemetry/index.ts';

/** What one config version's extra steps hand the data plane. */
export interface AssembledSteps {
  outbound: Step[];
  inbound: Step[];
  /** Circuit and ejections per service, for /v1/mesher/instances (from the resilience source). */
  resilience?: (service: string) => ServiceResilienceView;
}

/**
 * Further steps supplied per config version (resilience, later features). `plane` is the data
 * plane's services when the assembler was given them (e.g. discovery's instance counts).
 */
export type StepSource = (
  config: SidecarConfig,
  plane?: PlaneServices,
) => { outbound?: Step[]; inbound?: Step[]; resilience?: (service: string) => ServiceResilienceView };

export interface StepAssembler {
  /** Without `plane` (no transport to lend) the egress step is left out. */
  (config: SidecarConfig, plane?: PlaneServices): AssembledSteps;
  readonly routes: RouteTableView;
}

/** Route rules as they are at start-up: invalid ones make start-up fail (there is no last good table yet). */
export function initialRouteTable(config: SidecarConfig): {
  table: RouteTable;
  issues: readonly { key: string; message: string }[];
} {
  const r = parseRouteTable(config.flat);
  return { table: r.issues.length === 0 ? r.table : EMPTY_TABLE, issues: r.issues };
}

export function createStepAssembler(deps: {
  readonly telemetry: Telemetry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly initialTable: RouteTable;
  readonly more?: readonly StepSource[];
}): StepAssembler {
  let table = deps.initialTable;
  let lastRejected: { at: number; issues: readonly unknown[] } | undefined;
  let previousRouter: RouteStep['router'] | undefined;
  let propagation: PropagationStore | undefined;
  let propagationKey = '';
  let lastFlat: SidecarConfig['flat'] | undefined;
  let egress: EgressSettings | undefined;
  let egressFlat: SidecarConfig['flat'] | undefined;

  /** This version's egress settings, or the last good ones when it has issues. */
  const egressFor = (config: SidecarConfig): EgressSettings => {
    if (egress !== undefined && egressFlat === config.flat) return egress;
    const r = parseEgressSettings(config.flat);
    egressFlat = config.flat;
    for (const w of r.warnings) deps.log.warn({ key: w.key }, `egress: ${w.message}`);
    if (r.issues.length === 0) egress = r.settings;
    else if (egress === undefined) {
      throw new ConfigError(r.issues.map((i) => ({ file: '(egress)', key: i.key, message: i.message })));
    } else {
      deps.log.error({ issues: r.issues }, 'egress settings rejected; the last good ones stay in force');
    }
    return egress;
  };

  const assemble = (config: SidecarConfig, plane?: PlaneServices): AssembledSteps => {
    if (lastFlat !== undefined && lastFlat !== config.flat) {
      const r = reloadRouteTable(config.flat, table);
      if (r.accepted) table = r.table;
      else {
        lastRejected = { at: deps.clock.now(), issues: r.issues };
        deps.log.error({ issues: r.issues }, 'route rules rejected; the last good rules stay in force');
      }
    }
    lastFlat = config.flat;

    const p = parsePropagation(config.flat);
    if (p.issues.length > 0)
      deps.log.error({ issues: p.issues }, 'routing header propagation settings rejected');
    const key = JSON.stringify(p.config);
    if (p.issues.length === 0 && key !== propagationKey) {
      propagation = new PropagationStore(p.config, deps.clock);
      propagationKey = key;
    }

    const route = createRoute({
      table,
      identity: callerOf(config.service),
      propagation,
      previous: previousRouter,
    });
    previousRouter = route.router;
    const observe = deps.telemetry.steps(config);
    const outbound: Step[] = [...observe.outbound, route];
    const inbound: Step[] = [...observe.inbound, route];
    let resilience: AssembledSteps['resilience'];
    for (const source of deps.more ?? []) {
      const extra = source(config, plane);
      outbound.push(...(extra.outbound ?? []));
      inbound.push(...(extra.inbound ?? []));
      resilience ??= extra.resilience;
    }
    if (plane !== undefined) {
      const e = egressFor(config);
      // Nothing to send outside: leave the step out rather than pay a pass-through per call.
      if (e.table.rules.length > 0 || e.table.passthrough) outbound.push(egressStepFor(e, plane.send));
    }
    return { outbound, inbound, ...(resilience ? { resilience } : {}) };
  };
  return Object.assign(assemble, {
    routes: {
      services: () => tableSpecs(table),
      lastRejected: () => lastRejected,
    },
  });
}
