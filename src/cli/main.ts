#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * @module cli/main
 * The `mesher` command. Dispatches to one file per subcommand in ./commands; with no subcommand
 * (or only flags) it runs the sidecar, as the original `mesher` binary did.
 * Every command module exports `run(argv: string[]): Promise<number | undefined>`; a number is the
 * exit code, undefined means "keep running" (servers stop on SIGINT/SIGTERM themselves).
 */

import { applyV8Flags, sidecarV8Flags } from './v8-flags.ts';

type CommandModule = { run(argv: string[]): Promise<number | undefined> };

/** Commands that run a long-lived sidecar: they get the sidecar's V8 heap settings (./v8-flags.ts). */
const SIDECAR_COMMANDS = new Set(['sidecar', 'run']);

const COMMANDS: Record<string, { describe: string; load: () => Promise<CommandModule> }> = {
  registry: {
    describe: 'run the service registry (ServiceComb v4 API)',
    load: () => import('./commands/registry.ts'),
  },
  sidecar: {
    describe: 'run the sidecar proxy (the default command)',
    load: () => import('./commands/sidecar.ts'),
  },
  run: {
    describe: 'run an app behind its sidecar: mesher run [flags] -- <command...>',
    load: () => import('./commands/run.ts'),
  },
  demo: {
    describe: 'run a demo mesh: registry + client -> server1 -> server2',
    load: () => import('./commands/demo.ts'),
  },
  services: {
    describe: 'list the services in the registry',
    load: () => import('./commands/services.ts'),
  },
  instances: {
    describe: "list a service's instances",
    load: () => import('./commands/instances.ts'),
  },
  route: {
    describe: 'set, get, delete or list route rules in the config center',
    load: () => import('./commands/route.ts'),
  },
  config: {
    describe: 'set, get or delete config center keys (governance applied live)',
    load: () => import('./commands/config.ts'),
  },
  graph: {
    describe: 'who calls whom: rate, errors and latency per edge (--dot for Graphviz)',
    load: () => import('./commands/graph.ts'),
  },
  top: {
    describe: 'per-service inbound rate, success ratio, p50/p99 and callers (--watch N)',
    load: () => import('./commands/top.ts'),
  },
  'sidecar-status': {
    describe: "show a sidecar's health, governance keys and route rules",
    load: () => import('./commands/config.ts').then((m) => ({ run: m.runSidecarStatus })),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.describe}`);
  return `usage: mesher [command] [flags]\n\ncommands:\n${lines.join('\n')}\n\nWith no command, mesher runs the sidecar.`;
}

async function main(argv: string[]): Promise<void> {
  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const named = first !== undefined && !first.startsWith('-');
  const name = named ? first : 'sidecar';
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`mesher: unknown command '${name}'\n${usage()}\n`);
    process.exitCode = 2;
    return;
  }
  if (SIDECAR_COMMANDS.has(name)) {
    try {
      // Before the command's modules load: the young generation must not grow while they do.
      applyV8Flags(sidecarV8Flags(process.env));
    } catch (err) {
      process.stderr.write(`mesher: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
  }
  const mod = await command.load();
  const code = await mod.run(named ? argv.slice(1) : argv);
  if (code !== undefined) process.exitCode = code;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mesher: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
