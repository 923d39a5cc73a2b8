/**
 * Certificates made at test time with the `openssl` command, for the specs of certificate
 * verification: a CA, another CA nobody trusts, and server and client certificates that are
 * good, self-signed, signed by the other CA, expired (2000–2001), not yet valid (2090–2099) or
 * for another name. EC P-256 keys, so that making them all takes a fraction of a second.
 * `openssl ca` sets the dates (`-startdate`/`-enddate`), which OpenSSL 3.0's `x509` cannot.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its private key, as PEM text. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** What each side may present: good, or one way or another not verifiable. */
export interface Leaves {
  /** Signed by the CA, valid now. */
  good: KeyPair;
  /** Self-signed. */
  selfSigned: KeyPair;
  /** Signed by a CA that nobody trusts. */
  otherCa: KeyPair;
  /** Signed by the CA, valid from 2000 to 2001. */
  expired: KeyPair;
  /** Signed by the CA, valid from 2090 to 2099. */
  future: KeyPair;
}

export interface Certificates {
  /** The CA's certificate, to trust. */
  ca: string;
  /** Server certificates for localhost, 127.0.0.1 and ::1; `wrongName` is for example.com only. */
  server: Leaves & { wrongName: KeyPair };
  /** Client certificates (clientAuth). */
  client: Leaves;
}

const SERVER_EXTENSIONS = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n';
const WRONG_NAME_EXTENSIONS = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:example.com\n';
const CLIENT_EXTENSIONS = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

let made: Certificates | undefined;

/** Makes the certificates once per process (in a temporary directory removed at once). */
export function certificates(): Certificates {
  made ??= makeCertificates();
  return made;
}

function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'asyncio-streams-certs-'));
  try {
    const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
    const key = (name: string): void => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}-key.pem`);
    const selfSignedCa = (name: string): void => {
      key(name);
      openssl('req', '-x509', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${name}`, '-days', '3650', '-out', `${name}.pem`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    };
    selfSignedCa('ca');
    selfSignedCa('other-ca');
    writeFileSync(join(dir, 'serial'), '1000\n');
    let serial = 0;
    /** A leaf signed by the CA `signer` (`openssl ca`, which takes any dates). */
    const leaf = (name: string, signer: string, extensions: string, start: string, end: string): KeyPair => {
      key(name);
      openssl('req', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
      writeFileSync(join(dir, `${name}.ext`), extensions);
      const index = `index-${serial++}.txt`;
      writeFileSync(join(dir, index), '');
      writeFileSync(join(dir, `${name}.cnf`), [
        '[ca]', 'default_ca = default', '[default]', `database = ${index}`, 'new_certs_dir = .', 'serial = serial',
        'default_md = sha256', 'policy = any', 'unique_subject = no', '[any]', 'commonName = supplied', '',
      ].join('\n'));
      openssl('ca', '-batch', '-notext', '-config', `${name}.cnf`, '-cert', `${signer}.pem`, '-keyfile', `${signer}-key.pem`, '-in', `${name}.csr`, '-out', `${name}.pem`,
        '-extfile', `${name}.ext`, '-startdate', start, '-enddate', end);
      return { cert: read(`${name}.pem`), key: read(`${name}-key.pem`) };
    };
    const now = new Date();
    const stamp = (date: Date): string => `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
    const from = stamp(new Date(now.getTime() - 24 * 3600 * 1000));
    const until = stamp(new Date(now.getTime() + 3650 * 24 * 3600 * 1000));
    /** Self-signed as `openssl req -x509` makes one, the way people do. */
    const selfSigned = (name: string, extensions: string): KeyPair => {
      key(name);
      const added = extensions.trim().split('\n').filter((line) => !line.startsWith('basicConstraints') && !line.startsWith('keyUsage'));
      openssl('req', '-x509', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${name}`, '-days', '3650', '-out', `${name}.pem`,
        ...added.flatMap((line) => ['-addext', line]));
      return { cert: read(`${name}.pem`), key: read(`${name}-key.pem`) };
    };
    const leaves = (side: string, extensions: string): Leaves => ({
      good: leaf(`${side}-good`, 'ca', extensions, from, until),
      selfSigned: selfSigned(`${side}-self-signed`, extensions),
      otherCa: leaf(`${side}-other-ca`, 'other-ca', extensions, from, until),
      expired: leaf(`${side}-expired`, 'ca', extensions, '20000101000000Z', '20010101000000Z'),
      future: leaf(`${side}-future`, 'ca', extensions, '20900101000000Z', '20990101000000Z'),
    });
    return {
      ca: read('ca.pem'),
      server: { ...leaves('server', SERVER_EXTENSIONS), wrongName: leaf('server-wrong-name', 'ca', WRONG_NAME_EXTENSIONS, from, until) },
      client: leaves('client', CLIENT_EXTENSIONS),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
