import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** Files of a throw-away PKI: a CA, a server cert for 127.0.0.1, a client cert, and a rogue client. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate with the same CN, signed by a CA the server does not trust. */
  rogueCert: string;
  rogueKey: string;
  /** The CA that signed the rogue certificate: a client trusting only it refuses the server's. */
  rogueCaCert: string;
}

const openssl = (dir: string, args: string[]) => execa('openssl', args, { cwd: dir, timeout: 30_000 });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
  ]);
}

async function signLeaf(
  dir: string,
  name: string,
  ca: string,
  cn: string,
  extensions: string,
): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'req',
    '-new',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Generates the PKI with the openssl CLI in a fresh temp directory. */
export async function makeTestPki(clientCn: string): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'falco-mtls-'));
  await makeCa(dir, 'ca');
  await makeCa(dir, 'rogue-ca');
  await signLeaf(
    dir,
    'server',
    'ca',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await signLeaf(dir, 'client', 'ca', clientCn, 'extendedKeyUsage=clientAuth\n');
  await signLeaf(dir, 'rogue', 'rogue-ca', clientCn, 'extendedKeyUsage=clientAuth\n');
  const file = (name: string) => join(dir, name);
  return {
    dir,
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    rogueCert: file('rogue.crt'),
    rogueKey: file('rogue.key'),
    rogueCaCert: file('rogue-ca.crt'),
  };
}

const opensslDate = (date: Date) => `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/**
 * A certificate valid from `notBefore` to `notAfter`, in `dir/name/` (`openssl ca` takes dates;
 * `req -x509` and `x509 -req` only days from now): a server certificate for 127.0.0.1 signed by
 * `issuer`, or without one a CA that signs itself.
 */
export async function makeDatedCertificate(
  dir: string,
  name: string,
  validity: { notBefore: Date; notAfter: Date },
  issuer?: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const home = join(dir, name);
  mkdirSync(home);
  writeFileSync(join(home, 'index.txt'), '');
  writeFileSync(join(home, 'serial'), '01\n');
  writeFileSync(
    join(home, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = dated',
      '[dated]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'policy = any',
      'default_md = sha256',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '[server]',
      'subjectAltName = IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage = serverAuth',
      '[authority]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      '',
    ].join('\n'),
  );
  const cn = issuer ? 'localhost' : name;
  await openssl(home, [
    'req',
    '-new',
    ...EC,
    '-keyout',
    'cert.key',
    '-out',
    'cert.csr',
    '-subj',
    `/CN=${cn}`,
  ]);
  const signer = issuer
    ? ['-cert', issuer.cert, '-keyfile', issuer.key, '-extensions', 'server']
    : ['-selfsign', '-keyfile', 'cert.key', '-extensions', 'authority'];
  await openssl(home, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    ...signer,
    '-in',
    'cert.csr',
    '-out',
    'cert.crt',
    '-notext',
    '-startdate',
    opensslDate(validity.notBefore),
    '-enddate',
    opensslDate(validity.notAfter),
  ]);
  return { cert: join(home, 'cert.crt'), key: join(home, 'cert.key') };
}
