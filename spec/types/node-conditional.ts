/**
 * `asyncio-streams` itself gives the Node adapter's types where TypeScript resolves with the
 * `node` condition (`module: nodenext` or `node16`).
 */
import { socketpair, type NodeSock } from 'asyncio-streams';
import type { Socket } from 'node:net';
import { expectType, type Equal } from './_equal.js';

expectType<Equal<Awaited<ReturnType<typeof socketpair>>, [Socket, Socket]>>();
export type Sock = NodeSock;
