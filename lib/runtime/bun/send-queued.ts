import type { BunNativeSocket } from './namespace.ts';

/**
 * Writes `queue`'s chunks to `socket` in order, as far as the kernel takes them: a `Bun.Socket`
 * keeps nothing of a write, so what it did not take stays at the front of `queue` (the first
 * chunk cut where the kernel stopped) for the next `drain`. What `BunSocket` and
 * `BunSocketDuplex` both do at Bun's `drain`.
 *
 * @param socket a connected native socket
 * @param queue the chunks not yet taken, in order; left with what is still not taken
 * @returns the bytes the kernel took, or -1 when the socket is closed or shut down
 * @example
 * ```ts
 * declare const socket: Parameters<typeof sendQueued>[0];
 * const queue = [new TextEncoder().encode('ping\n')];
 * if (sendQueued(socket, queue) >= 0 && queue.length === 0) console.log('all sent');
 * ```
 */
export function sendQueued(socket: BunNativeSocket<unknown>, queue: Uint8Array[]): number {
  let sent = 0;
  while (queue.length > 0) {
    const chunk = queue[0]!;
    const taken = socket.write(chunk);
    if (taken < 0) return -1;
    sent += taken;
    if (taken < chunk.byteLength) {
      queue[0] = chunk.subarray(taken);
      break;
    }
    queue.shift();
  }
  return sent;
}
