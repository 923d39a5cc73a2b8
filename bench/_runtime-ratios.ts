/**
 * The per-runtime ratios of the network servers' benchmarks (`echo.bench.ts`, `http.bench.ts`),
 * for the README's table with a column per runtime: ours / the runtime's sockets (the target),
 * ours / the await floor, and the await floor / the runtime's sockets.
 */
import type { Ratio } from './_benchmark.ts';
import { DENO, THIS_NODE } from './_runtimes.ts';

/** A server run by another runtime than this Node: `runtime:ours`, `runtime:raw`, `runtime:await`. */
export interface RuntimeServer {
  id: string;
  /** That runtime's label. */
  runtime?: string;
}

/**
 * `numerator / denominator` on `runtime`, at least `min` when given.
 *
 * @example
 * ```ts
 * const ratio = runtimeRatio('ours / Bun.listen', 'Bun', 'bun:ours', 'bun:listen');
 * ```
 */
export function runtimeRatio(label: string, runtime: string, numerator: string, denominator: string, min?: number): Ratio {
  return { label, runtime, numerator, denominator, ...(min === undefined ? {} : { target: { min } }) };
}

/**
 * The ratios of this Node's `ours`, `net` and `net-await` servers and of every runtime's
 * `runtime:ours`, `runtime:raw` and `runtime:await` in `servers`. Deno's own server (`deno:raw`)
 * is an await loop already (`await conn.read()`, `await conn.write()`): it is Deno's floor too.
 *
 * @example
 * ```ts
 * const ratios = runtimeRatios([{ id: 'bun:ours', runtime: 'Bun' }, { id: 'bun:raw', runtime: 'Bun' }, { id: 'bun:await', runtime: 'Bun' }], 0.95);
 * ```
 */
export function runtimeRatios(servers: readonly RuntimeServer[], target: number): Ratio[] {
  const withSuffix = (suffix: string) => servers.filter((server) => server.id.endsWith(suffix));
  const sibling = (server: RuntimeServer, from: string, to: string) => server.id.slice(0, -from.length) + to;
  return [
    runtimeRatio("ours / the runtime's sockets", THIS_NODE, 'ours', 'net', target),
    ...withSuffix(':ours').map((server) => runtimeRatio("ours / the runtime's sockets", server.runtime!, server.id, sibling(server, ':ours', ':raw'), target)),
    runtimeRatio('ours / the await floor', THIS_NODE, 'ours', 'net-await'),
    ...withSuffix(':await').map((server) => runtimeRatio('ours / the await floor', server.runtime!, sibling(server, ':await', ':ours'), server.id)),
    runtimeRatio('ours / the await floor', DENO.label, 'deno:ours', 'deno:raw'),
    runtimeRatio("the await floor / the runtime's sockets", THIS_NODE, 'net-await', 'net'),
    ...withSuffix(':await').map((server) => runtimeRatio("the await floor / the runtime's sockets", server.runtime!, server.id, sibling(server, ':await', ':raw'))),
  ];
}
