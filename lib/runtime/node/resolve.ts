import { lookup } from 'node:dns/promises';
import type { ResolvedAddress } from '../../_happy-eyeballs.ts';
import type { AddressFamily } from '../../options.ts';

/**
 * Every address `host` resolves to, in `getaddrinfo()`'s order, as the runtime's own connect
 * would resolve it: the hosts file, the system's resolver and its address sorting. Deno's
 * `node:dns` calls `getaddrinfo()` as `Deno.connect()` does, which `Deno.resolveDns()` (DNS
 * queries only, A and AAAA apart) does not, so the Deno adapter resolves here too.
 *
 * @param host a name or an address
 * @param family 4 or 6 for that family only; 0 for both
 * @returns the addresses, each with its family
 * @throws the resolver's error (`ENOTFOUND`, ...)
 * @example
 * ```ts
 * await resolveAll('localhost', 0); // [{ address: '127.0.0.1', family: 4 }, ...]
 * ```
 */
export function resolveAll(host: string, family: AddressFamily): Promise<ResolvedAddress[]> {
  return lookup(host, { all: true, family, verbatim: true });
}

/**
 * Every address `hosts` resolve to, once each, in order: what a server binds (CPython binds
 * every address of every host).
 *
 * @param hosts names or addresses
 * @param family 4 or 6 for that family only; 0 for both
 * @returns the addresses
 * @throws the resolver's error (`ENOTFOUND`, ...)
 * @example
 * ```ts
 * await resolveHosts(['localhost'], 0); // ['127.0.0.1', '::1']
 * ```
 */
export async function resolveHosts(hosts: readonly string[], family: AddressFamily): Promise<string[]> {
  const addresses = new Set<string>();
  for (const host of hosts) {
    for (const { address } of await lookup(host, { all: true, family })) addresses.add(address);
  }
  return [...addresses];
}
