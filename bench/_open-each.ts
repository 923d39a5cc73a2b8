/** How the connection benchmarks open many connections. */

/** Connections opened at a time: under a listen backlog of 100 (`startServer`'s default, asyncio's). */
export const IN_FLIGHT = 50;

/**
 * Opens `count` connections, `IN_FLIGHT` at a time: a burst of 1,000 connects overflows a
 * backlog of 100, and a connection the server dropped from its full accept queue is reset
 * later, in the middle of a pass.
 */
export async function openEach<T>(count: number, open: () => Promise<T>): Promise<T[]> {
  const opened: T[] = [];
  for (let done = 0; done < count; done += IN_FLIGHT) {
    opened.push(...(await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count - done) }, open))));
  }
  return opened;
}
