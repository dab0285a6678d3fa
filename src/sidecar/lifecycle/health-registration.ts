/**
 * @module sidecar/lifecycle/health-registration
 * Ties the local health checks to the registry: the instance is registered `DOWN` until every
 * check passes, turns `UP` when they all pass and `DOWN` again when one fails. Consumers stop
 * calling a DOWN instance because the registry's discovery only returns UP instances.
 *
 * A status change made while the instance is being (re-)registered could be lost (the
 * registration payload was built before it), so the current status is re-applied every time the
 * registration completes.
 */
import type { Registration } from '../registration/registration.ts';
import type { LocalHealthChecker } from './health-checker.ts';

/** Call before `registration.start()`. Returns a function that unbinds both listeners. */
export function bindHealthToRegistration(
  checker: LocalHealthChecker,
  registration: Registration,
): () => void {
  const desired = () => (checker.healthy() ? 'UP' : 'DOWN');
  void registration.setStatus(desired());
  const offHealth = checker.onChange(() => void registration.setStatus(desired()));
  const offRegistration = registration.onChange((s) => {
    if (s.registered) void registration.setStatus(desired());
  });
  return () => {
    offHealth();
    offRegistration();
  };
}
