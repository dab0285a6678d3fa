/** @module cli/commands/sidecar — placeholder until the sidecar command lands. */
export async function run(_argv: string[]): Promise<number | undefined> {
  process.stderr.write('mesher sidecar: not built yet\n');
  return 2;
}
