/**
 * @module sidecar/admin/version
 * `GET /v1/mesher/version`: the package version plus runtime facts, in the original's field
 * layout where it makes sense (`version`, `commit`, `built`) and `node` instead of `Go-Chassis`.
 */
import { readFileSync } from 'node:fs';
import type { AdminHandler } from './types.ts';

function packageVersion(): string {
  try {
    // src/sidecar/admin/version.ts and dist/sidecar/admin/version.js both sit three levels down.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '';
  } catch {
    return '';
  }
}

export function createVersionHandler(): AdminHandler {
  const body = Object.freeze({
    name: 'mesher',
    version: packageVersion(),
    commit: process.env.MESHER_COMMIT ?? '',
    built: process.env.MESHER_BUILT ?? '',
    node: process.version,
  });
  return async () => ({ status: 200, body });
}
