/** The errors both runtime sockets (`NodeSocket`, `DenoSocket`) throw, with Node's codes. */

/** A socket used after it was closed. */
export function socketClosedError(): Error {
  return Object.assign(new Error('The socket is closed'), { code: 'ERR_SOCKET_CLOSED' });
}

/** The plain socket's streams after `startTls()`: the TLS socket it returned is the one to use. */
export function upgradedError(): Error {
  return Object.assign(new Error('The socket was upgraded by startTls(): use the socket it returned'), {
    code: 'ERR_SOCKET_UPGRADED',
  });
}
