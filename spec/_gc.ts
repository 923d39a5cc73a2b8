/**
 * A full garbage collection, forced, on the runtime the specs run on: `Bun.gc(true)` on Bun;
 * elsewhere V8's `gc()`, exposed at run time (`--expose-gc` through `node:v8`, read through
 * `node:vm`), which works on Node and Deno.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

interface BunGlobal {
  gc(force: boolean): void;
}

function v8Gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const bun = (globalThis as { Bun?: BunGlobal }).Bun;

/** Collects garbage now (finalization callbacks run in a later turn). */
export const collectGarbage: () => void = bun === undefined ? v8Gc() : () => bun.gc(true);
