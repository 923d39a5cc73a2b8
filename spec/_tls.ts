/**
 * The test-only TLS material of spec/fixtures/tls (see its README) and the TLS options the
 * specs build from it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TlsOptions } from '../lib/runtime/node.ts';

const directory = fileURLToPath(new URL('fixtures/tls/', import.meta.url));

function pem(name: string): string {
  return readFileSync(`${directory}${name}.pem`, 'utf8');
}

/** The path of a fixture, for a child process (NODE_EXTRA_CA_CERTS). */
export function fixturePath(name: string): string {
  return `${directory}${name}.pem`;
}

export const CA = pem('ca');

/** A server with the certificate for localhost, 127.0.0.1 and ::1, signed by the test CA. */
export const SERVER: TlsOptions = { cert: pem('server'), key: pem('server-key') };

/** A server whose self-signed certificate nothing trusts. */
export const UNTRUSTED_SERVER: TlsOptions = { cert: pem('untrusted'), key: pem('untrusted-key') };

/** A client that trusts the test CA. */
export const CLIENT: TlsOptions = { ca: CA };

/** A client with a certificate signed by the test CA, for mutual TLS. */
export const CLIENT_WITH_CERT: TlsOptions = { ca: CA, cert: pem('client'), key: pem('client-key') };

/** A server that requires a client certificate signed by the test CA. */
export const MUTUAL_SERVER: TlsOptions = { ...SERVER, ca: CA };
