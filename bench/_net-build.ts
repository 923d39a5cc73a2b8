/**
 * Compiles lib/ with tsc into a temporary directory, for the network benchmarks' `ours`
 * servers: users run that build, and the sources through tsx are slower (esbuild's
 * `keepNames` wraps every closure created per call in a `__name()` call).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './_net-process.ts';

export interface Build {
  /** Holds `runtime/node.js` and the rest of lib/, compiled. */
  dir: string;
  remove(): void;
}

/**
 * A fresh tsc build of lib/, or the one `BENCH_LIBRARY` names (kept: to compare two versions
 * of the library run after run, each built once).
 */
export function buildLibrary(): Build {
  const prebuilt = process.env['BENCH_LIBRARY'];
  if (prebuilt !== undefined && prebuilt !== '') return { dir: prebuilt, remove: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'asyncio-streams-bench-'));
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', dir, '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'];
  const compiled = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (compiled.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`tsc -p tsconfig.build.json failed: ${(compiled.stdout + compiled.stderr).trim().slice(-2000)}`);
  }
  // The output is ESM, as the package declares.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The build `BENCH_BASE_LIBRARY` names: the version a change is measured against, run as an
 * `ours-base` server in the same rounds as `ours` (build it once with `tsc -p
 * tsconfig.build.json --outDir DIR` on the base commit, and add `{"type":"module"}` as
 * `DIR/package.json`).
 * @throws when the variable is not set
 */
export function baseLibrary(): string {
  const base = process.env['BENCH_BASE_LIBRARY'];
  if (base === undefined || base === '') throw new Error('the ours-base servers need BENCH_BASE_LIBRARY=DIR (a tsc build of the base)');
  return base;
}
