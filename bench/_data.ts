/**
 * Deterministic inputs for the reader benchmarks, byte-identical to `cpython_reader.py`
 * (same LCG, same draws in the same order), so JS and CPython read the very same bytes;
 * every run reports a SHA-256 of its input and the driver refuses a workload whose
 * variants disagree.
 */
import { createHash } from 'node:crypto';

/** Size of every chunk handed to a reader, as a socket read of 64 KiB would. */
export const CHUNK_SIZE = 65536;

/** W1: lines are drawn until the input reaches this size (64 MiB). */
export const LINES_TARGET_BYTES = 64 * 1024 * 1024;
export const LINE_MIN = 20;
export const LINE_MAX = 140;

/** W2: this many frames, each a 4-byte big-endian length and a payload of this size. */
export const FRAME_COUNT = 200_000;
export const FRAME_PAYLOAD = 100;

const ALPHABET_SIZE = 4096;

/** An input cut into chunks, plus what a correct reader must report for it. */
export interface ChunkedInput {
  chunks: Uint8Array[];
  /** Total bytes, the sum every pass must find. */
  bytes: number;
  /** Lines (W1) or frames (W2) in the input. */
  items: number;
  /** How many items end inside each chunk: lets a push-mode pass drain exactly what is complete. */
  itemsEndingIn: number[];
  /** SHA-256 hex of the whole input, compared with the CPython side. */
  digest: string;
}

/** Numerical Recipes' 32-bit LCG; `cpython_reader.py` has the same one. */
class Lcg {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next draw's upper 16 bits: the low bits of a power-of-two LCG are far from random. */
  next16(): number {
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return this.state >>> 16;
  }
}

/** Printable ASCII without '\n', so a line's byte count is its string length too (node:readline). */
function alphabet(lcg: Lcg): Uint8Array {
  const base = new Uint8Array(ALPHABET_SIZE);
  for (let i = 0; i < base.length; i++) base[i] = 33 + (lcg.next16() % 94);
  return base;
}

function cut(data: Uint8Array, ends: number[]): Omit<ChunkedInput, 'items' | 'bytes'> {
  const chunks: Uint8Array[] = [];
  const itemsEndingIn: number[] = [];
  let next = 0;
  for (let start = 0; start < data.length; start += CHUNK_SIZE) {
    const end = Math.min(start + CHUNK_SIZE, data.length);
    // A copy per chunk, like the separate buffers a socket delivers.
    chunks.push(data.slice(start, end));
    let count = 0;
    while (next < ends.length && ends[next]! <= end) {
      count++;
      next++;
    }
    itemsEndingIn.push(count);
  }
  const digest = createHash('sha256').update(data).digest('hex');
  return { chunks, itemsEndingIn, digest };
}

/** W1 input: ~80-byte lines (20..140 bytes including '\n') up to 64 MiB, in 64 KiB chunks. */
export function lineInput(): ChunkedInput {
  const lcg = new Lcg(1);
  const base = alphabet(lcg);
  const data = new Uint8Array(LINES_TARGET_BYTES + LINE_MAX);
  const ends: number[] = [];
  let size = 0;
  while (size < LINES_TARGET_BYTES) {
    const length = LINE_MIN + (lcg.next16() % (LINE_MAX - LINE_MIN + 1));
    const from = lcg.next16() % (ALPHABET_SIZE - LINE_MAX);
    data.set(base.subarray(from, from + length - 1), size);
    data[size + length - 1] = 10;
    size += length;
    ends.push(size);
  }
  const input = data.subarray(0, size);
  return { ...cut(input, ends), bytes: size, items: ends.length };
}

/** W2 input: 200,000 frames of a 4-byte big-endian length then 100 payload bytes, in 64 KiB chunks. */
export function frameInput(): ChunkedInput {
  const lcg = new Lcg(2);
  const base = alphabet(lcg);
  const frame = 4 + FRAME_PAYLOAD;
  const data = new Uint8Array(FRAME_COUNT * frame);
  const view = new DataView(data.buffer);
  const ends: number[] = [];
  for (let i = 0, at = 0; i < FRAME_COUNT; i++, at += frame) {
    const from = lcg.next16() % (ALPHABET_SIZE - FRAME_PAYLOAD);
    view.setUint32(at, FRAME_PAYLOAD);
    data.set(base.subarray(from, from + FRAME_PAYLOAD), at + 4);
    ends.push(at + frame);
  }
  return { ...cut(data, ends), bytes: data.length, items: FRAME_COUNT };
}
