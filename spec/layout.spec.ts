/**
 * The layout's rules that the type checker does not enforce: the core (`lib/` outside
 * `lib/runtime/`) imports no `node:` module, and no module of `lib/` imports itself back
 * through others (a cycle would mean a rule split between two places).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** What each file imports: relative specifiers as paths from the root, others as written. */
function importsOf(file: string): string[] {
  const source = readFileSync(join(root, file), 'utf8');
  return [...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom '([^']+)';/gm)].map(([, specifier]) =>
    specifier!.startsWith('.') ? normalize(join(dirname(file), specifier!)) : specifier!,
  );
}

/** The cycles of `graph` (a module to what it imports), each as the chain that closes it. */
function cyclesIn(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].join(' -> '));
      else if (state.get(target) === undefined) visit(target);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file);
  return cycles;
}

const layout = suite('layout');
const files = sourcesUnder('lib');

layout('finds the sources and their imports', () => {
  assert.ok(files.length >= 40, `${files.length} files`);
  assert.ok(importsOf('lib/server.ts').includes(join('lib', '_open-streams.ts')));
});

layout('the core imports no node: module: only the adapters in lib/runtime/ do', () => {
  const core = files.filter((file) => !relative('lib', file).startsWith('runtime'));
  const offenders = core.flatMap((file) => importsOf(file).filter((target) => target.startsWith('node:')).map((target) => `${file}: ${target}`));
  assert.equal(offenders, []);
});

layout('no module of lib/ imports itself back through others', () => {
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => target.startsWith('lib'))]));
  assert.equal(cyclesIn(graph), []);
});

layout('the cycle search finds a cycle, and only cycles', () => {
  const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []]]);
  assert.equal(cyclesIn(graph), ['a -> b -> c -> a']);
  assert.equal(cyclesIn(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
});

layout.run();
