/**
 * The library as the benchmark servers load it, the entry its users get on this runtime (the
 * Bun entry on Bun, over Bun's own sockets; the Node adapter elsewhere): the tsc build in the
 * directory that `ASYNCIO_STREAMS_BUILD` names (what users run), or else the TypeScript sources
 * through tsx. The difference matters: tsx compiles with esbuild's `keepNames`, which wraps
 * every closure the library creates per call in a `__name()` call, a cost the published build
 * does not have.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runtimeKind } from '../_runtimes.ts';

type Library = typeof import('../../lib/runtime/node.ts');

export async function loadLibrary(): Promise<Library> {
  const entry = runtimeKind() === 'bun' ? 'bun' : 'node';
  const build = process.env.ASYNCIO_STREAMS_BUILD;
  if (build) return (await import(pathToFileURL(join(build, 'runtime', `${entry}.js`)).href)) as Library;
  return (await import(`../../lib/runtime/${entry}.ts`)) as Library;
}
