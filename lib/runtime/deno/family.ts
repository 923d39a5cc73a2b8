import { addressFamily } from '../../_checks.ts';
import type { AddressFamily } from '../../options.ts';

/**
 * Refuses `family` with a host name: `Deno.connect()` and `Deno.listen()` resolve a name
 * themselves, to an address of either family, and cannot be asked for one. (An address of the
 * other family is refused for every runtime by the core's checks.)
 *
 * @throws {RangeError} when `family` is 4 or 6 and a host is a name
 * @example
 * ```ts
 * checkDenoFamily(['::1'], 6); // fine
 * checkDenoFamily(['localhost'], 6); // throws RangeError
 * ```
 */
export function checkDenoFamily(hosts: readonly string[], family: AddressFamily): void {
  if (family !== 0 && hosts.some((host) => addressFamily(host) === 0)) {
    throw new RangeError('family is supported on Deno only with an address, not a host name');
  }
}
