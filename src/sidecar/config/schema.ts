/**
 * @module sidecar/config/schema
 * The one schema of the keys this module understands, written as the nested YAML shape in
 * canonical (`servicecomb.`) spelling. It drives three things: which keys are known (./key-walk.ts),
 * type validation and coercion of env strings (TypeBox `Value.Convert` + `Value.Errors` in
 * ./validate.ts), and the key list that test checks docs/config.md against.
 * Keys of namespaces other features own are listed in PASSTHROUGH and never validated here.
 * `x-message` on a schema replaces TypeBox's generic error text for that key.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './duration.ts';

const Str = (msg = 'must be a string') => Type.Optional(Type.String({ 'x-message': msg }));
const Bool = () => Type.Optional(Type.Boolean({ 'x-message': 'must be true or false' }));
const Int = (minimum = 0) =>
  Type.Optional(Type.Integer({ minimum, 'x-message': `must be an integer >= ${minimum}` }));
const Duration = () =>
  Type.Optional(
    Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
      'x-message': 'must be a duration such as 30s, 500ms, 1m or a plain number of seconds',
    }),
  );
const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
  'x-message': 'must be a string, number or boolean',
});
const StringMap = () => Type.Optional(Type.Record(Type.String(), Scalar));

/** `servicecomb.protocols.<name>` (name: http, rest-admin, grpc, ...). */
const Protocol = Type.Object({
  listenAddress: Str('must be an address such as 127.0.0.1:30101'),
  advertiseAddress: Str('must be an address such as 10.0.0.5:30101'),
});

/** One load-balancing block: global (`servicecomb.loadbalance.*`) or per service (`...loadbalance.<svc>.*`). */
const LoadBalanceFields = {
  strategy: Type.Optional(Type.Object({ name: Str() })),
  serverListFilters: Str(),
  retryEnabled: Bool(),
  retryOnSame: Int(),
  retryOnNext: Int(),
  backoff: Type.Optional(
    Type.Object({
      // Values are validated in full by the retry policy parser (src/sidecar/policy), which also
      // accepts the original's "jittered" kind and durations such as "2s".
      kind: Str(),
      minMs: Type.Optional(Scalar),
      maxMs: Type.Optional(Scalar),
      jitter: Str(),
    }),
  ),
  SessionStickinessRule: Type.Optional(
    Type.Object({ sessionTimeoutInSeconds: Int(), successiveFailedTimes: Int() }),
  ),
};

const Registry = Type.Object({
  type: Str(),
  address: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], {
      'x-message': 'must be a URL or a comma-separated list of URLs',
    }),
  ),
  watch: Bool(),
  refreshInterval: Duration(),
  heartbeat: Type.Optional(Type.Object({ interval: Duration(), mode: Str() })),
  disabled: Bool(),
  discovery: Type.Optional(Type.Object({ disabled: Bool() })),
  register: Str(),
  scope: Str(),
  autoIPIndex: Bool(),
  autoSchemaIndex: Bool(),
  autodiscovery: Bool(),
  healthCheck: Bool(),
  uploadSchema: Bool(),
  api: Type.Optional(Type.Object({ version: Str() })),
});

const Service = Type.Object({
  name: Type.String({ 'x-message': 'is required: the name this service registers under' }),
  app: Str(),
  version: Str(),
  environment: Str(),
  hostname: Str(),
  status: Str(),
  properties: StringMap(),
  instanceProperties: StringMap(),
  paths: Type.Optional(Type.Array(Type.Unknown(), { 'x-message': 'must be a list' })),
  schemas: Type.Optional(Type.Array(Type.String(), { 'x-message': 'must be a list of schema ids' })),
});

export const SidecarFileSchema = Type.Object({
  servicecomb: Type.Object({
    protocols: Type.Optional(Type.Record(Type.String(), Protocol)),
    registry: Type.Optional(Registry),
    service: Service,
    loadbalance: Type.Optional(
      Type.Object(LoadBalanceFields, { additionalProperties: Type.Object(LoadBalanceFields) }),
    ),
  }),
  admin: Type.Optional(Type.Object({ enable: Bool(), serverUri: Str(), goRuntimeMetrics: Bool() })),
  region: Type.Optional(Type.Object({ name: Str(), availableZone: Str() })),
});

/** The validated nested value (before defaults and semantic checks). */
export type SidecarFileValues = Static<typeof SidecarFileSchema>;

/**
 * Defaults, in one table. Durations are in ms. Keys absent here default to "unset".
 * (servicecomb.service.hostname defaults to os.hostname(), computed at load time.)
 */
export const DEFAULTS = {
  /** Forward proxy; 127.0.0.1 = consumer-only sidecar (the seed's first example). */
  'servicecomb.protocols.http.listenAddress': '127.0.0.1:30101',
  /** Admin API, loopback only unless configured otherwise. */
  'servicecomb.protocols.rest-admin.listenAddress': '127.0.0.1:30102',
  'servicecomb.registry.address': 'http://127.0.0.1:30100',
  'servicecomb.registry.watch': false,
  'servicecomb.registry.refreshInterval': 30_000,
  'servicecomb.registry.heartbeat.interval': 30_000,
  'servicecomb.service.app': 'default',
  'servicecomb.service.version': '0.0.1',
  'servicecomb.service.environment': '',
  /** The original's code default was false but its shipped conf said true; true is what users saw. */
  'admin.enable': true,
  /** Power-of-two-choices least-loaded; the original defaulted to RoundRobin. */
  'servicecomb.loadbalance.strategy.name': 'LeastLoaded',
  /** CSE_PROJECT_ID: the service-center API project segment. */
  project: 'default',
  /** X-Domain-Name sent to the registry. */
  domain: 'default',
} as const;

/** Balancing strategies by canonical name; config values match case-insensitively. */
export const STRATEGY_NAMES = [
  'RoundRobin',
  'Random',
  'WeightedResponse',
  'SessionStickiness',
  'LeastLoaded',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * Namespaces later features own. Keys under them are kept in `flat` and never warned about.
 * Written canonically: `cse.isolation` is the same namespace as `servicecomb.isolation`.
 */
export const PASSTHROUGH = [
  'servicecomb.routeRule',
  'servicecomb.darklaunch',
  'servicecomb.match',
  'servicecomb.matchGroup',
  'servicecomb.rateLimiting',
  'servicecomb.bulkhead',
  'servicecomb.isolation',
  'servicecomb.circuitBreaker',
  'servicecomb.fallback',
  'servicecomb.fallbackpolicy',
  'servicecomb.flowcontrol',
  'servicecomb.governance',
  'servicecomb.metrics',
  'servicecomb.transport',
  'servicecomb.handler',
  'servicecomb.config',
  'servicecomb.router',
  'servicecomb.apm',
  'servicecomb.profile',
  'servicecomb.tracing',
  'servicecomb.accessLog',
  'servicecomb.retry',
  'servicecomb.timeout',
  'servicecomb.outlierDetection',
  'servicecomb.credentials',
  'servicecomb.monitor',
  'servicecomb.noRefreshSchema',
  'localHealthCheck',
  // The original's own examples use top-level routeRule (it silently ignored it); mesher reads it.
  'routeRule',
  'egress',
  'egressRule',
  'mesher',
  'tracing',
  'ssl',
  'pprof',
  'plugin',
  'control',
] as const;

/** Top-level names the walker descends into; any other top-level key passes through (unless it is a typo of one). */
export const KNOWN_TOP = ['servicecomb', 'admin', 'region'] as const;

/** Keys that older examples use and the code never read, with what to write instead. */
export const STALE_KEYS: ReadonlyArray<{ prefix: string; hint: string }> = [
  { prefix: 'servicecomb.service.registry', hint: 'pre-v2 key, ignored: use servicecomb.registry.*' },
  {
    prefix: 'servicecomb.service.instance_properties',
    hint: 'ignored: use servicecomb.service.instanceProperties',
  },
];

/** The legacy `cse.` prefix is an alias of `servicecomb.`. */
export function canonicalKey(key: string): string {
  return key.startsWith('cse.') ? `servicecomb.${key.slice(4)}` : key;
}

/** The file a key normally lives in, for issues about keys that are missing or defaulted. */
export function expectedFile(canonical: string): string {
  if (canonical.startsWith('servicecomb.service.')) return 'microservice.yaml';
  if (/^(admin|mesher|localHealthCheck|pprof|plugin)(\.|$)/.test(canonical)) return 'mesher.yaml';
  return 'chassis.yaml';
}

/** True for schema nodes that are sections (objects), false for values. */
export function isSection(s: TSchema | undefined): boolean {
  return s !== undefined && s.type === 'object';
}
