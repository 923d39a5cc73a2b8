/**
 * The library as the benchmark servers load it: the tsc build in the directory that
 * `ASYNCIO_STREAMS_BUILD` names (what users run), or else the TypeScript sources through tsx.
 * The difference matters: tsx compiles with esbuild's `keepNames`, which wraps every closure
 * the library creates per call in a `__name()` call, a cost the published build does not have.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Library = typeof import('../../lib/runtime/node.ts');

export async function loadLibrary(): Promise<Library> {
  const build = process.env.ASYNCIO_STREAMS_BUILD;
  if (build) return (await import(pathToFileURL(join(build, 'runtime', 'node.js')).href)) as Library;
  return import('../../lib/runtime/node.ts');
}
