/**
 * A reference model of CPython 3.13's asyncio.StreamReader running operations one after the
 * other over a source of chunks, as fixtures/cpython-reader.py's `run_pull` drives it:
 * whenever an operation waits, the next chunk is fed (an empty one wakes nobody, so the next
 * follows), or EOF once the chunks are used up. Synchronous and written straight from
 * `Lib/asyncio/streams.py` (`read`, `readexactly`, `readuntil`, `readline`), it gives the
 * outcome CPython would record for any split of the same bytes. reader-fuzz.spec.ts first
 * checks it against every scenario of the fixture, then uses it as the oracle for splits
 * and operations CPython was not run on. Our reads into a caller's buffer, which asyncio does not
 * have, are modelled as the reads whose outcomes they must have: `readinto(view)` as
 * `read(view.byteLength)`, `readexactlyInto(view)` as `readexactly(view.byteLength)`.
 */
import { fromHex, toHex, type OpStep, type Outcome, type RecordedError } from './_cpython-replay.ts';

class ModelError {
  constructor(readonly recorded: RecordedError) {}
}

function incomplete(partial: Uint8Array, expected: number | null): ModelError {
  return new ModelError({
    error: 'IncompleteReadError',
    message: `${partial.length} bytes read on a total of ${expected === null ? 'undefined' : expected} expected bytes`,
    partial: toHex(partial),
    expected,
  });
}

/** Thrown where the operation would wait, when it was called in its nowait form. */
class WouldWait {}

function limitOverrun(message: string, consumed: number): ModelError {
  return new ModelError({ error: 'LimitOverrunError', message, consumed });
}

function valueError(message: string): ModelError {
  return new ModelError({ error: 'RangeError', message });
}

/** `haystack.find(needle, from)` over plain arrays. */
function find(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let at = from; at + needle.length <= haystack.length; at++) {
    for (let i = 0; i < needle.length; i++) if (haystack[at + i] !== needle[i]) continue outer;
    return at;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

export class ReaderModel {
  #buffer: Uint8Array = new Uint8Array(0);
  #eof = false;
  readonly #chunks: Uint8Array[];
  readonly #limit: number;
  /** The operation running is a nowait form: where it would wait, it returns `null` instead. */
  #nowait = false;

  constructor(limit: number, chunks: readonly Uint8Array[]) {
    this.#limit = limit;
    this.#chunks = [...chunks];
  }

  /** Runs `op` to its end and returns what CPython's fixture would record for it. */
  run(op: OpStep): Outcome {
    let outcome: Outcome;
    this.#nowait = op[1].endsWith('Nowait');
    try {
      outcome = { r: toHex(this.#op(op)), b: '' };
    } catch (error) {
      if (error instanceof WouldWait) outcome = { r: null, b: '' };
      else if (error instanceof ModelError) outcome = { x: error.recorded, b: '' };
      else throw error;
    } finally {
      this.#nowait = false;
    }
    outcome.b = toHex(this.#buffer);
    if (this.#eof && this.#buffer.length === 0) outcome.eof = true;
    return outcome;
  }

  /** What `read()` returns once the operations are done. */
  rest(): Uint8Array {
    return this.#read(-1);
  }

  #op(op: OpStep): Uint8Array {
    switch (op[1]) {
      case 'read':
      case 'readinto':
        return this.#read(op[2]);
      case 'readexactly':
      case 'readexactlyInto':
        return this.#readexactly(op[2]);
      case 'readline':
      case 'readlineNowait':
        return this.#readline();
      case 'readexactlyNowait':
        return this.#readexactly(op[2]);
      case 'readuntil':
      case 'readuntilNowait': {
        const spec = op.length === 2 ? '0a' : op[2];
        const hexes = Array.isArray(spec) ? spec : [spec];
        const separators = hexes.map(fromHex);
        return this.#readuntil(separators, Array.isArray(spec));
      }
    }
  }

  /** `_wait_for_data`, with the driver feeding the next chunk (or EOF) while it waits. */
  #wait(): void {
    // Nothing was changed before a wait (CPython checks, then waits), so returning null is exact.
    if (this.#nowait) throw new WouldWait();
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk === undefined) {
        this.#eof = true;
        return;
      }
      // feed_data(b'') returns without waking the waiter: the driver feeds the next one.
      if (chunk.length > 0) {
        this.#buffer = concat(this.#buffer, chunk);
        return;
      }
    }
  }

  #take(count: number): Uint8Array {
    const taken = this.#buffer.slice(0, count);
    this.#buffer = this.#buffer.slice(count);
    return taken;
  }

  #read(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    if (n < 0) {
      let all: Uint8Array = new Uint8Array(0);
      for (;;) {
        const block = this.#read(this.#limit);
        if (block.length === 0) return all;
        all = concat(all, block);
      }
    }
    if (this.#buffer.length === 0 && !this.#eof) this.#wait();
    return this.#take(Math.min(n, this.#buffer.length));
  }

  #readexactly(n: number): Uint8Array {
    if (n < 0) throw valueError('readexactly size can not be less than zero');
    if (n === 0) return new Uint8Array(0);
    while (this.#buffer.length < n) {
      if (this.#eof) {
        const partial = this.#take(this.#buffer.length);
        throw incomplete(partial, n);
      }
      this.#wait();
    }
    return this.#take(n);
  }

  #readuntil(unsorted: Uint8Array[], tuple: boolean): Uint8Array {
    if (tuple && unsorted.length === 0) throw valueError('Separator should contain at least one element');
    const separators = [...unsorted].sort((a, b) => a.length - b.length);
    const shortest = separators[0]!.length;
    const longest = separators[separators.length - 1]!.length;
    if (shortest === 0) throw valueError('Separator should be at least one-byte string');
    let offset = 0;
    let matchStart = -1;
    let matchEnd = -1;
    for (;;) {
      const length = this.#buffer.length;
      if (length - offset >= shortest) {
        for (const separator of separators) {
          const at = find(this.#buffer, separator, offset);
          if (at !== -1 && (matchEnd === -1 || at + separator.length < matchEnd)) {
            matchStart = at;
            matchEnd = at + separator.length;
          }
        }
        if (matchEnd !== -1) break;
        offset = Math.max(0, length + 1 - longest);
        if (offset > this.#limit) throw limitOverrun('Separator is not found, and chunk exceed the limit', offset);
      }
      if (this.#eof) throw incomplete(this.#take(this.#buffer.length), null);
      this.#wait();
    }
    if (matchStart > this.#limit) throw limitOverrun('Separator is found, but chunk is longer than limit', matchStart);
    return this.#take(matchEnd);
  }

  #readline(): Uint8Array {
    try {
      return this.#readuntil([new Uint8Array([10])], false);
    } catch (error) {
      if (!(error instanceof ModelError)) throw error;
      if (error.recorded.error === 'IncompleteReadError') return fromHex(error.recorded.partial!);
      if (error.recorded.error !== 'LimitOverrunError') throw error;
      const consumed = error.recorded.consumed!;
      if (this.#buffer[consumed] === 10 && consumed < this.#buffer.length) this.#take(consumed + 1);
      else this.#buffer = new Uint8Array(0);
      throw new ModelError({ error: 'RangeError', message: error.recorded.message, cause: error.recorded });
    }
  }
}
