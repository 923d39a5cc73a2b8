/**
 * The Bun entry: Bun runs the Node adapter (`node:net`), which measured as fast as an adapter
 * over `Bun.connect` would be (the library's own work dominates) and supports TCP, Unix
 * sockets and half-close. The one Bun difference the adapter meets, a Unix connect that reports
 * itself connected too early, is handled in `node/connect.ts`.
 */
export * from './node.ts';
