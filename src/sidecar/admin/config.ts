/**
 * @module sidecar/admin/config
 * `GET /v1/mesher/config`: the effective configuration with secrets masked (by the config
 * module's `maskSecrets`, injected).
 */
import type { AdminDeps, AdminHandler } from './types.ts';

export function createConfigHandler(deps: Pick<AdminDeps, 'config' | 'maskSecrets'>): AdminHandler {
  return async () => ({ status: 200, body: deps.maskSecrets(deps.config()) });
}
