/** @module cli/commands/registry — placeholder until the registry command lands. */
export async function run(_argv: string[]): Promise<number | undefined> {
  process.stderr.write('mesher registry: not built yet\n');
  return 2;
}
