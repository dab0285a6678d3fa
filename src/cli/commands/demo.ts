/** @module cli/commands/demo — placeholder until the demo command lands. */
export async function run(_argv: string[]): Promise<number | undefined> {
  process.stderr.write('mesher demo: not built yet\n');
  return 2;
}
