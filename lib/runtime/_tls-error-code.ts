/**
 * The one mapping from Deno's TLS errors to Node's codes, so that a program branches on
 * `error.code` the same way on every runtime (the README's table). Deno's own TLS (rustls)
 * fails a handshake with `InvalidData` and a message; Node's names come from OpenSSL.
 */

/** Message patterns of rustls, most specific first, and the code Node gives the same failure. */
const DENO_TLS_CODES: ReadonlyArray<readonly [RegExp, string]> = [
  [/certificate expired/i, 'CERT_HAS_EXPIRED'],
  [/certificate not valid yet/i, 'CERT_NOT_YET_VALID'],
  [/not valid for name|NotValidForName/i, 'ERR_TLS_CERT_ALTNAME_INVALID'],
  // rustls tells no self-signed certificate from one of an unknown CA.
  [/UnknownIssuer/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/BadSignature/i, 'CERT_SIGNATURE_FAILURE'],
  [/invalid peer certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/fatal alert: ?UnknownCA/i, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'],
  [/fatal alert: ?BadCertificate/i, 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'],
  [/fatal alert: ?CertificateRequired/i, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
  [/fatal alert: ?CertificateExpired/i, 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED'],
  [/fatal alert: ?HandshakeFailure/i, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'],
  [/fatal alert: ?ProtocolVersion/i, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'],
  [/corrupt message|InvalidMessage|invalid message/i, 'ERR_SSL_WRONG_VERSION_NUMBER'],
  // The peer went away mid-handshake (Node: "Client network socket disconnected before ...").
  [/^UnexpectedEof:/, 'ECONNRESET'],
];

/**
 * Gives a TLS error of Deno's own TLS the `code` Node gives the same failure (see
 * `DENO_TLS_CODES`, tried on `name: message`); an `InvalidData` error no pattern matches gets `ERR_SSL_PROTOCOL_ERROR`.
 * An error that has a code keeps it.
 * @returns `error`, with its `code` set
 * @example
 * ```ts
 * try {
 *   await conn.handshake();
 * } catch (error) {
 *   throw withTlsCode(error); // InvalidData: ... certificate expired ... → code CERT_HAS_EXPIRED
 * }
 * ```
 */
export function withTlsCode(error: unknown): unknown {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== undefined) return error;
  const message = `${error.name}: ${error.message}`;
  const code = DENO_TLS_CODES.find(([pattern]) => pattern.test(message))?.[1]
    ?? (error.name === 'InvalidData' ? 'ERR_SSL_PROTOCOL_ERROR' : undefined);
  if (code !== undefined) Object.defineProperty(error, 'code', { value: code, writable: true, configurable: true, enumerable: true });
  return error;
}
