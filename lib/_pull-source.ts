import type { ByteBuffer } from './_byte-buffer.ts';
import { socketReaderOf, type ClaimedReadable, type SocketReader } from './_socket-reads.ts';
import { isUint8Array } from './_checks.ts';

/** The size of a BYOB read, and the reader's buffer's resting capacity. */
export const PULL_SIZE = 32 * 1024;

/**
 * The size of a reader's first read: small, because a connection may wait long for its first
 * bytes (a server's for a request), and a read holds its storage while it waits.
 */
export const FIRST_READ_SIZE = 4 * 1024;

/**
 * The most one read takes for a read that asks for more than `PULL_SIZE` (a 64 KiB
 * `readinto()`): four times the resting capacity, storage the buffer keeps without shrinking.
 */
export const MAX_READ_SIZE = 4 * PULL_SIZE;

/**
 * The reader's side of a pull source: where the bytes it reads go, and what it tells of them.
 * Each read ends in one call: `arrived()` after bytes, `ended()` at the stream's end,
 * `failed()` when the stream errors.
 */
export interface PullTarget {
  /** The reader's buffer: a BYOB read lands in storage that is then swapped in whole. */
  readonly buffer: ByteBuffer;
  /** Copies the front of `data` into the direct read being filled, if any; how many bytes it took. */
  toDirect(data: Uint8Array): number;
  /** Adds bytes that arrived: to the direct read being filled first, the rest to the buffer. */
  append(data: Uint8Array): void;
  /** A read delivered bytes. */
  arrived(): void;
  /** The stream ended (and no stream follows it). */
  ended(): void;
  /** The stream failed with `error`. */
  failed(error: unknown): void;
}

function ignore(): void {}

type Source =
  | { kind: 'byob'; reader: ReadableStreamBYOBReader }
  | { kind: 'default'; reader: ReadableStreamDefaultReader<Uint8Array> };

/** Whether `readable` is a socket's claimed readable side rather than a stream. */
function isClaimed(readable: ReadableStream<Uint8Array> | ClaimedReadable): readable is ClaimedReadable {
  return typeof (readable as Partial<ClaimedReadable>)._claimedReader === 'function';
}

/**
 * Locks `readable` for reading: with a BYOB reader when it is a byte stream, else a default one.
 * @throws {TypeError} when it is locked
 */
function sourceOf(readable: ReadableStream<Uint8Array>): Source {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = readable.getReader({ mode: 'byob' });
  } catch (error) {
    // Only "not a byte stream" falls back to a default reader; a locked stream is an error.
    if (readable.locked) throw error;
  }
  return byob !== null ? { kind: 'byob', reader: byob } : { kind: 'default', reader: readable.getReader() };
}

/**
 * A `ReadableStream` pumped into a pull-mode `StreamReader`, one read at a time and only when
 * the reader asks (`pull()`), so a fast stream cannot fill memory. A byte stream is read with a
 * BYOB reader into storage that is swapped into the reader's buffer without a copy; any other
 * stream with a default reader, whose chunks are appended. A stream that ends may hand over to
 * the next one (`continueWith()`: the TLS socket after `startTls()`) instead of ending. A
 * socket's own read (`SocketReader`) is read instead while it gives bytes, into the same
 * storage: a socket's stream that offers it (`offerSocketRead()`), or a socket's readable side
 * claimed whole (`ClaimedReadable`), whose stream is made and locked only once that read
 * gives nothing, or to cancel, so that an idle connection holds no stream.
 */
export class PullSource {
  readonly #target: PullTarget;
  /** The locked stream's reader; null until a claimed socket's stream is needed (see `#locked()`). */
  #source: Source | null;
  /** The socket whose readable side was claimed, which makes and locks its stream on demand. */
  readonly #claimed: ClaimedReadable | null;
  /** What the source's end leads to instead of the end: the TLS socket's bytes after `startTls()`. */
  #next: (() => ReadableStream<Uint8Array>) | null = null;
  /** The read in flight, if any. */
  #pulling: Promise<void> | null = null;
  /**
   * The storage the next BYOB read fills. A BYOB read transfers its view's `ArrayBuffer`, so
   * it never reads into the buffer's own storage while that holds bytes: they must stay
   * readable (by a second read, or after an abort) while the read is in flight.
   */
  #spare: Uint8Array<ArrayBuffer> | null = null;
  /** The socket, read with its own read past the stream until that gives nothing more (see `SocketReader`). */
  #socket: SocketReader | null;
  /** How many bytes the read being started may take (see `pull()`); 0 before the first read. */
  #readSize = 0;
  /** The BYOB reader whose `closed` is watched (see `#readInto()`). */
  #watched: ReadableStreamBYOBReader | null = null;
  /** Ends the BYOB read in flight as the end of the stream; null while none waits. */
  #endRead: (() => void) | null = null;

  /**
   * Locks `readable` for `target`; a claimed socket's stream only once it is needed.
   * @throws {TypeError} when `readable` is locked
   */
  constructor(readable: ReadableStream<Uint8Array> | ClaimedReadable, target: PullTarget) {
    this.#target = target;
    if (isClaimed(readable)) {
      this.#claimed = this.#socket = readable;
      this.#source = null;
    } else {
      this.#claimed = null;
      this.#socket = socketReaderOf(readable);
      this.#source = sourceOf(readable);
    }
  }

  /**
   * Starts one read into the target, unless one is in flight.
   * @param wanted how many bytes the waiting read asks for: more than `PULL_SIZE` reads up to
   *   that many (at most `MAX_READ_SIZE`) at once, where smaller reads would take one socket
   *   read each and a copy apiece
   */
  pull(wanted = 0): void {
    if (this.#pulling !== null) return;
    // A first read is small unless the reader asks for more (see `#storage()`).
    this.#readSize = Math.min(Math.max(wanted, this.#readSize === 0 ? FIRST_READ_SIZE : PULL_SIZE), MAX_READ_SIZE);
    this.#pulling = this.#socket === null ? this.#pump(this.#locked()) : this.#pumpSocket(this.#socket);
  }

  /** Reads `next()`'s stream once this one ends, instead of ending. */
  continueWith(next: () => ReadableStream<Uint8Array>): void {
    this.#next = next;
  }

  /** Cancels the stream being read. */
  cancel(reason: unknown): Promise<void> {
    return this.#locked().reader.cancel(reason);
  }

  /** The locked stream's reader: a claimed socket's stream is made and locked now if need be. */
  #locked(): Source {
    return (this.#source ??= { kind: 'byob', reader: this.#claimed!._claimedReader() });
  }

  /**
   * One read from the source into the target (more only for empty chunks, or to hand over
   * to the next stream), then one call to tell the target what came of it.
   */
  async #pump(source: Source): Promise<void> {
    let ended = false;
    try {
      for (;;) {
        const done = source.kind === 'byob' ? await this.#readInto(source.reader) : await this.#readChunk(source.reader);
        if (!done) break;
        const next = this.#next;
        if (next === null) {
          ended = true;
          break;
        }
        this.#next = null;
        source.reader.releaseLock();
        source = this.#source = sourceOf(next());
      }
    } catch (error) {
      this.#pulling = null;
      this.#target.failed(error);
      return;
    }
    this.#pulling = null;
    if (ended) this.#target.ended();
    else this.#target.arrived();
  }

  /**
   * One read with the socket's own read, as `#pump()` does one with the stream. Once it
   * gives nothing, the stream is read instead: it tells whether that is an end (or the next
   * stream's start), an error, or a close.
   */
  #pumpSocket(socket: SocketReader): Promise<void> {
    const storage = this.#storage();
    // A reaction rather than an async function: a promise fewer per read.
    return socket._readInto(storage).then(
      (size) => this.#socketReadDone(storage, size),
      (error: unknown) => {
        this.#pulling = null;
        this.#target.failed(error);
      },
    );
  }

  /** What a socket read of `size` bytes into `storage` leads to (see `#pumpSocket()`). */
  #socketReadDone(storage: Uint8Array<ArrayBuffer>, size: number): Promise<void> | void {
    if (size === 0) {
      this.#spare = storage;
      this.#socket = null;
      return this.#pump(this.#locked());
    }
    this.#landed(storage, storage.subarray(0, size));
    this.#pulling = null;
    this.#target.arrived();
  }

  /**
   * Reads into the spare storage (see `#landed()`).
   * @returns whether the stream ended
   */
  #readInto(reader: ReadableStreamBYOBReader): Promise<boolean> {
    if (this.#watched !== reader) {
      this.#watched = reader;
      // A byte source that closes while a read waits, without answering it (`respond(0)`),
      // leaves the read pending for good (as the Streams standard has it); `closed` tells of
      // the end all the same. Node settles a read its source answered after `closed`: a turn
      // later. Watched once a reader: a reaction per read would pile up on `closed`.
      const endRead = (): void => {
        // Only while this stream is read: after continueWith(), the next one's read may wait.
        if (this.#watched === reader) this.#endRead?.();
      };
      reader.closed.then(() => setTimeout(endRead, 0), ignore);
    }
    const read = reader.read(this.#storage());
    return new Promise<boolean>((resolve, reject) => {
      this.#endRead = () => resolve(true);
      read.then(
        ({ done, value }) => {
          this.#endRead = null;
          // A cancelled stream hands no view back, and so no storage.
          if (value !== undefined) this.#landed(new Uint8Array(value.buffer as ArrayBuffer), value);
          resolve(done);
        },
        (error: unknown) => {
          this.#endRead = null;
          reject(error);
        },
      );
    });
  }

  /**
   * The storage the next read fills: the spare if it is large enough, else new. A first read
   * takes no more than `FIRST_READ_SIZE` bytes unless the reader asks for more, so that a
   * connection waiting for its first bytes does not hold `PULL_SIZE` for them.
   */
  #storage(): Uint8Array<ArrayBuffer> {
    const spare = this.#spare;
    const size = this.#readSize;
    this.#spare = null;
    return spare !== null && spare.length >= size ? spare : new Uint8Array(size);
  }

  /**
   * Takes `data`, the bytes a read put at the front of `storage`. When the buffer is empty the
   * two swap, so the bytes land in the buffer without a copy; otherwise they are appended to
   * what is buffered, and `storage` is the spare again (unless it is a small first read's).
   */
  #landed(storage: Uint8Array<ArrayBuffer>, data: Uint8Array): void {
    const target = this.#target;
    const buffer = target.buffer;
    if (data.byteLength === 0) {
      this.#spare = storage;
    } else if (buffer.length === 0 && storage.length >= PULL_SIZE) {
      // A direct read copies its part out; the rest is read where it landed.
      const taken = target.toDirect(data);
      const previous = buffer.swap(storage, data.byteLength);
      buffer.start = taken;
      if (previous.length >= PULL_SIZE) this.#spare = previous;
    } else {
      target.append(data);
      if (storage.length >= PULL_SIZE) this.#spare = storage;
    }
  }

  /**
   * Reads chunks until one holds bytes: an empty chunk is no news, as `feed_data(b'')` is none.
   * @returns whether the stream ended
   */
  async #readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      if (!isUint8Array(value)) throw new TypeError(`The stream gave a ${typeof value}, not a Uint8Array`);
      if (value.length > 0) {
        this.#target.append(value);
        return false;
      }
    }
  }
}
