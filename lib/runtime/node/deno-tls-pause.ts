import type { Socket as NetSocket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/** What Deno's `node:tls` keeps on a `TLSSocket` as `_handle` (its `TLSWrap`), as used here. */
interface DenoTlsHandle {
  readStart(): number;
  readStop(): number;
  /** The TCP or pipe handle TLS reads natively; absent when TLS runs over a JS `Duplex`. */
  _nativeTcpHandle?: { readStart(): number; readStop(): number } | null;
}

/**
 * Makes pausing a TLS socket of Deno's `node:tls` stop the reads of the stream under it, as
 * Node's `TLSWrap::ReadStop()` does; does nothing on Node and Bun.
 *
 * Deno's `node:tls` (2.9) pauses a TLS socket only by holding back what it decrypts (its
 * `readStop()` drops the socket's `onread`), and reads the stream under it on, so the peer's
 * bytes pile up without bound. The peer's end held back with them is lost: at the resume its
 * `readStart()` hands the held bytes over, they fill the socket's buffer, which stops it again,
 * and the end that follows goes to nobody (a read waiting for EOF waits forever). Here
 * `readStop()` holds nothing back and stops reading the stream under TLS instead (the native
 * handle, or the `Duplex`), so TLS decrypts at most the chunk it was given last, and the end
 * comes after the bytes once `readStart()` reads on. The socket's `_handle` is Deno's own, so
 * it is changed only where it has both methods.
 *
 * @param socket a TLS socket just made, before it reads
 * @param raw the stream it runs over
 * @example
 * ```ts
 * const raw = socket.getExtraInfo('socket') as import('node:net').Socket;
 * const secure = new TLSSocket(raw, { isServer: true, key, cert });
 * stopReadsUnderWhenPaused(secure, raw);
 * ```
 */
export function stopReadsUnderWhenPaused(socket: TLSSocket, raw: NetSocket | Duplex): void {
  if (!('Deno' in globalThis)) return;
  const handle = (socket as unknown as { _handle?: Partial<DenoTlsHandle> | null })._handle;
  if (typeof handle?.readStart !== 'function' || typeof handle.readStop !== 'function') return;
  const tls = handle as DenoTlsHandle;
  const readStart = tls.readStart;
  // Over a native handle TLS reads it itself (and drops it at the close); else it reads `raw`.
  const native = '_nativeTcpHandle' in tls;
  let stopped = false;
  tls.readStop = () => {
    if (!stopped) {
      stopped = true;
      if (native) tls._nativeTcpHandle?.readStop();
      else raw.pause();
    }
    return 0;
  };
  tls.readStart = () => {
    // Hands over what TLS decrypted before its first start, then reads on.
    const result = readStart.call(tls);
    if (stopped) {
      stopped = false;
      if (native) tls._nativeTcpHandle?.readStart();
      else raw.resume();
    }
    return result;
  };
}
