import type { SocketName } from './transport.ts';

/**
 * A socket's name as text: `host:port`, with an IPv6 host in brackets (`[::1]:8080`), or the
 * path of a Unix socket. What `toString()`s and `opened`'s `SocketInfo` show.
 *
 * @example
 * ```ts
 * socketNameText(['::1', 8080]); // '[::1]:8080'
 * ```
 */
export function socketNameText(name: SocketName): string {
  if (typeof name === 'string') return name;
  const [host, port] = name;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
