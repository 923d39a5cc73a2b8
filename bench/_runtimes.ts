/**
 * The runtimes a benchmark file runs itself on (Node 20/22/24/26 from `spec/node-versions`,
 * Deno and Bun from their npm packages), how to start a variant on each, which one this
 * process is, and the library as that runtime's users load it.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Variant } from './_benchmark.ts';
import { buildLibrary } from './_net-build.ts';

export interface Runtime {
  /** Short id, the prefix of variant ids (`node26:ours`). */
  id: string;
  /** As the README tables and the chart name it. */
  label: string;
  /** What runs a TypeScript file, before the file's path. */
  command: (options: RunOptions) => string[];
}

/** How a variant's runtime is started. */
export interface RunOptions {
  /** Expose `gc()` (Node, Deno). */
  exposeGc?: boolean;
  /** V8 flags (Node, Deno), as `--name=value`; Bun has no V8 and takes none. */
  v8Flags?: readonly string[];
}

const nodeBinary = (version: string) =>
  fileURLToPath(new URL(`../spec/node-versions/node_modules/node-${version}-linux-x64/bin/node`, import.meta.url));
const npmBinary = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

export const NODE_RUNTIMES: Runtime[] = ['20', '22', '24', '26'].map((version) => ({
  id: `node${version}`,
  label: `Node ${version}`,
  command: ({ exposeGc, v8Flags = [] }) => [nodeBinary(version), ...(exposeGc ? ['--expose-gc'] : []), ...v8Flags, '--import', 'tsx'],
}));

export const DENO: Runtime = {
  id: 'deno',
  label: 'Deno',
  command: ({ exposeGc, v8Flags = [] }) => {
    const flags = [...(exposeGc ? ['--expose-gc'] : []), ...v8Flags];
    return [npmBinary('deno'), 'run', '--allow-all', ...(flags.length > 0 ? [`--v8-flags=${flags.join(',')}`] : [])];
  },
};

/** Bun collects garbage on `Bun.gc(true)`: it needs no flag. */
export const BUN: Runtime = { id: 'bun', label: 'Bun', command: () => [npmBinary('bun')] };

export const RUNTIMES: Runtime[] = [...NODE_RUNTIMES, DENO, BUN];

/** The Node that runs `npm run bench` (and so the variants without a runtime prefix), as `RUNTIMES` labels it. */
export const THIS_NODE = `Node ${process.versions.node.split('.')[0]}`;

/** `runtime.id:id`, running `file` (a module's `import.meta.url`) with `args` on `runtime`. */
export function runtimeVariant(runtime: Runtime, id: string, label: string, file: string, args: string[], options: boolean | RunOptions = false): Variant {
  return {
    id: `${runtime.id}:${id}`,
    label: `${runtime.label}: ${label}`,
    command: [...runtime.command(typeof options === 'boolean' ? { exposeGc: options } : options), fileURLToPath(file), ...args],
  };
}

export type RuntimeKind = 'node' | 'deno' | 'bun';

/** Which runtime this process is. */
export function runtimeKind(): RuntimeKind {
  if ('Deno' in globalThis) return 'deno';
  if ('Bun' in globalThis) return 'bun';
  return 'node';
}

/** This process's runtime and version, for a result's `runtime`. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  const kind = runtimeKind();
  if (kind === 'deno') return `Deno ${versions.deno ?? '?'}`;
  if (kind === 'bun') return `Bun ${versions.bun ?? '?'}`;
  return `Node ${process.version}`;
}

type Library = typeof import('../lib/runtime/node.ts');

/**
 * The library's entry for this runtime, as its users run it: on Node the tsc build (the sources
 * through tsx pay for esbuild's `keepNames` on every closure, see `_net-build.ts`), on Deno and
 * Bun the TypeScript sources, which they compile themselves without that cost. Call `remove()`
 * before the process ends.
 *
 * `BENCH_LIBRARY=DIR` loads another copy instead (`DIR/runtime/node.js` of a build on Node,
 * `DIR/runtime/deno.ts` or `bun.ts` of sources on Deno and Bun): to compare two versions of
 * the library run after run, built once.
 */
export async function loadRuntimeLibrary(): Promise<{ library: Library; remove(): void }> {
  const kind = runtimeKind();
  const other = process.env['BENCH_LIBRARY'];
  if (other !== undefined && other !== '') {
    const entry = pathToFileURL(`${other}/runtime/${kind}.${kind === 'node' ? 'js' : 'ts'}`).href;
    return { library: (await import(entry)) as Library, remove: () => {} };
  }
  if (kind !== 'node') {
    const library = (await import(`../lib/runtime/${kind}.ts`)) as Library;
    return { library, remove: () => {} };
  }
  const build = buildLibrary();
  try {
    const library = (await import(new URL(`file://${build.dir}/runtime/node.js`).href)) as Library;
    return { library, remove: () => build.remove() };
  } catch (error) {
    build.remove();
    throw error;
  }
}
