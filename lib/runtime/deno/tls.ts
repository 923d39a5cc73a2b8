import { startTlsOptionsOf, type CheckedTls } from '../../_checks.ts';
import type { Transport } from '../../transport.ts';
import type { DenoSocket } from './socket.ts';

/** Upgrades `socket` and resolves with the TLS socket once its handshake is done; closes it when that fails. */
export async function upgraded(socket: DenoSocket, tls: CheckedTls): Promise<Transport> {
  let secure: Transport;
  try {
    secure = socket.startTls(startTlsOptionsOf(tls));
  } catch (error) {
    void socket.close();
    throw error;
  }
  try {
    await secure.opened;
  } catch (error) {
    void secure.close();
    throw error;
  }
  return secure;
}
