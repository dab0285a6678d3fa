/**
 * @module bench/lib/args
 * Command-line flags of `npm run bench` (bench/run.ts). Unknown flags are an error.
 *   --smoke              one short round of three measures (CI: checks the suite still runs end to end)
 *   --scaling            the scaling curve instead (issue 7 item 4): 1-1,000 instances / services
 *   --scenarios a,b      subset of: direct,nginx,haproxy,http-proxy,node-bare,mesher1,mesher2,
 *                        mesher1-off,mesher1-metrics,mesher1-trace1,mesher1-trace100,mesher1-alog
 *   --features           only the telemetry costs (issue 6): direct and the one-hop telemetry
 *                        variants, on the two feature measures, 7 rounds by default
 *   --no-features        leave the telemetry variants out of the run
 *   --rounds N           rounds of interleaved slices (default 3; smoke 1)
 *   --seconds S          seconds per wrk slice (default 3; smoke 1); fixed-rate slices use S too
 */
import { ALL_SCENARIOS, FEATURE_SCENARIOS, type ScenarioId } from './scenario.ts';

export interface BenchArgs {
  readonly smoke: boolean;
  readonly scaling: boolean;
  /** Only the telemetry-cost scenarios and measures. */
  readonly features: boolean;
  readonly scenarios: readonly ScenarioId[];
  readonly rounds: number;
  readonly seconds: number;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  let smoke = false;
  let scaling = false;
  let features = false;
  let noFeatures = false;
  let listed = false;
  let scenarios: ScenarioId[] = [...ALL_SCENARIOS];
  let rounds: number | undefined;
  let seconds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--smoke') smoke = true;
    else if (flag === '--scaling') scaling = true;
    else if (flag === '--features') features = true;
    else if (flag === '--no-features') noFeatures = true;
    else if (flag === '--scenarios') {
      const list = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = list.filter((s) => !(ALL_SCENARIOS as readonly string[]).includes(s));
      if (bad.length)
        throw new Error(`unknown scenario(s) ${bad.join(',')}; known: ${ALL_SCENARIOS.join(',')}`);
      // direct is the latency baseline: always run it
      scenarios = ALL_SCENARIOS.filter((s) => s === 'direct' || list.includes(s));
      listed = true;
    } else if (flag === '--rounds') rounds = positiveInt(flag, value());
    else if (flag === '--seconds') seconds = positiveInt(flag, value());
    else throw new Error(`unknown flag ${a}`);
  }
  if (features && noFeatures) throw new Error('--features and --no-features exclude each other');
  const isFeature = (s: ScenarioId) => (FEATURE_SCENARIOS as readonly string[]).includes(s);
  if (features && !listed) scenarios = ['direct', ...FEATURE_SCENARIOS];
  if (noFeatures) scenarios = scenarios.filter((s) => !isFeature(s));
  return {
    smoke,
    scaling,
    features,
    scenarios,
    rounds: rounds ?? (smoke ? 1 : features ? 7 : 3),
    seconds: seconds ?? (smoke ? 1 : 3),
  };
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 600)
    throw new Error(`${flag} must be an integer 1..600, got ${v}`);
  return n;
}
