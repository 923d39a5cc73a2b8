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

/**
 * What `opened`'s `SocketInfo` shows of a name `getExtraInfo()` gave: `host:port` of a
 * `[host, port]`, the path of a Unix one; null for anything else (and for `''`, the side of a
 * Unix connection that has no name).
 *
 * @example
 * ```ts
 * describeSocketName(['127.0.0.1', 8888]); // '127.0.0.1:8888'
 * describeSocketName(''); // null
 * ```
 */
export function describeSocketName(name: unknown): string | null {
  if (typeof name === 'string') return name || null;
  if (Array.isArray(name) && typeof name[0] === 'string' && typeof name[1] === 'number') return socketNameText([name[0], name[1]]);
  return null;
}

/**
 * What a socket class's `toString()` shows, for warnings and logs: its class, our end, the
 * peer's (`?` when unknown) and the states named, as in
 * `<NodeSocket 127.0.0.1:5000 -> 127.0.0.1:8888 tls closed>`.
 *
 * @example
 * ```ts
 * const socket = { getExtraInfo: (name: string) => (name === 'sockname' ? ['127.0.0.1', 5000] : ['127.0.0.1', 8888]) };
 * describeSocket('NodeSocket', socket, ['tls']); // '<NodeSocket 127.0.0.1:5000 -> 127.0.0.1:8888 tls>'
 * ```
 */
export function describeSocket(className: string, socket: { getExtraInfo(name: string): unknown }, states: readonly string[]): string {
  const [local, peer] = [socket.getExtraInfo('sockname'), socket.getExtraInfo('peername')].map((name) => describeSocketName(name) ?? '?');
  return `<${[className, `${local} -> ${peer}`, ...states].join(' ')}>`;
}
