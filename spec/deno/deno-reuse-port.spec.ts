/**
 * Deno only: `reusePort` without `--unstable-net`. Deno's `Deno.listen({ reusePort })` is an
 * unstable API that ends the process, uncatchably, when the flag is missing; the adapter refuses
 * first, with a `RangeError` that names the flag. The Deno suite runs with the flag (so the
 * portable spec sees reusePort work), so this runs a Deno without it, in a child process.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const adapter = fileURLToPath(new URL('../../lib/runtime/deno.ts', import.meta.url));

const reuse = suite('reusePort on a Deno without --unstable-net');

reuse('startServer() rejects with a RangeError naming the flag, and the process goes on', () => {
  const script = `
    import { startServer } from ${JSON.stringify(adapter)};
    try {
      const server = await startServer(() => {}, '127.0.0.1', 0, { reusePort: true });
      server.close();
      console.log('listened');
    } catch (error) {
      console.log(error.constructor.name + ': ' + error.message);
    }
    console.log('still running');`;
  const child = spawnSync(process.execPath, ['eval', script], { encoding: 'utf8', timeout: 30_000 });
  assert.is(child.status, 0, child.stderr);
  assert.is(
    child.stdout,
    'RangeError: reusePort on Deno needs the --unstable-net flag (Deno.listen() takes it as an unstable API)\nstill running\n',
  );
});

reuse.run();
