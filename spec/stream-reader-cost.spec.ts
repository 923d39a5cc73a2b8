/**
 * Cost guarantees that a correct but naive reader would break: they count work done rather
 * than time it, so they cannot flake.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader } from '../lib/index.ts';

/** Counts the bytes that `Uint8Array.prototype.indexOf` looks at while `action` runs. */
async function bytesSearched(action: () => Promise<void>): Promise<number> {
  const indexOf = Uint8Array.prototype.indexOf;
  let searched = 0;
  Uint8Array.prototype.indexOf = function (this: Uint8Array, value: number, from = 0) {
    const found = indexOf.call(this, value, from);
    searched += (found === -1 ? this.length : found + 1) - from;
    return found;
  };
  try {
    await action();
  } finally {
    Uint8Array.prototype.indexOf = indexOf;
  }
  return searched;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const cost = suite('StreamReader costs');

cost('a line fed one byte at a time is searched about once per byte', async () => {
  const reader = new StreamReader({ limit: 1 << 20 });
  const length = 5_000;
  let line: Uint8Array | undefined;
  const searched = await bytesSearched(async () => {
    const reading = reader.readline().then((value) => (line = value));
    await tick();
    for (let i = 0; i < length; i++) {
      reader.feedData(new Uint8Array([120]));
      await tick();
    }
    reader.feedData(new Uint8Array([10]));
    await reading;
  });
  assert.is(line!.length, length + 1);
  assert.ok(searched <= 2 * (length + 1), `searched ${searched} bytes for a ${length + 1}-byte line`);
});

cost('a multi-byte separator spread over chunks is searched about once per byte', async () => {
  const reader = new StreamReader({ limit: 1 << 20 });
  const chunks = 2_000;
  let found: Uint8Array | undefined;
  const searched = await bytesSearched(async () => {
    const reading = reader.readuntil('\r\n\r\n').then((value) => (found = value));
    await tick();
    for (let i = 0; i < chunks; i++) {
      reader.feedData(new TextEncoder().encode('ab\r\n'));
      await tick();
    }
    reader.feedData(new TextEncoder().encode('\r\n'));
    await reading;
  });
  assert.is(found!.length, 4 * chunks + 2);
  // Each wake-up may look again at the last (separator length - 1) bytes, as CPython does.
  assert.ok(searched <= 3 * (4 * chunks + 2), `searched ${searched} bytes`);
});

cost.run();
