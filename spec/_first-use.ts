/**
 * Runs a test body once before a leak check counts it: a runtime allocates sockets for good
 * the first time it uses a part of itself (Deno does for node:net, its TLS, ...), and lets go
 * of a closed connection's socket a moment later. `afterFirstUse()` runs the body, then waits
 * until the socket count has stayed the same for a while.
 */
import { leakFree, openSockets } from './_leaks.ts';
import { sleep } from './_loopback.ts';

/** How long the count must stay the same to count as settled. */
const STEADY_MS = 200;

/** Waits (at most `ms`) until the socket count holds still; returns it. */
export async function settledSockets(ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let count = openSockets();
  for (let previous = -1; count !== previous && Date.now() < deadline; count = openSockets()) {
    previous = count;
    await sleep(STEADY_MS);
  }
  return count;
}

/** Runs `body` once, uncounted, and waits for the sockets to settle. */
export async function afterFirstUse(body: () => Promise<void>): Promise<void> {
  await body();
  await settledSockets();
}

/** Runs `body` once to take what a runtime allocates on a first use, then counted by `leakFree()`. */
export async function leakFreeTwice(body: () => Promise<void>): Promise<void> {
  await afterFirstUse(body);
  await leakFree(body);
}
