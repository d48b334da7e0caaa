import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/** The certificate a new connection to `port` on loopback is served, as its fingerprint and serial. */
export function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Not verified: the point is which certificate comes, an expired one included.
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const { fingerprint256, serialNumber } = socket.getPeerCertificate();
      socket.destroy();
      resolve(`${fingerprint256} ${serialNumber}`);
    });
    socket.once('error', reject);
  });
}

/** The certificate of a PEM file, as servedCertificate names it. */
export function certificateOf(file: string): string {
  const x509 = new X509Certificate(readFileSync(file));
  return `${x509.fingerprint256} ${x509.serialNumber}`;
}
