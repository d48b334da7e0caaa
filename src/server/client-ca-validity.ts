import { X509Certificate } from 'node:crypto';

/** When the CAs of TLS_CLIENT_CA_FILE expire, as the tls_reloaded line and the gauge name it. */
export interface ClientCaValidity {
  /** The soonest notAfter: the clients whose certificates that CA signed fail from then on. */
  notAfter: string;
  notAfterSeconds: number;
  /** The latest notAfter: from then on no client certificate verifies. */
  lastNotAfter: string;
  /** How many certificates the secure context trusts (certificatesLoaded). */
  certificates: number;
  /** Each of them's notBefore and notAfter, in ms. */
  periods: Array<{ notBeforeMs: number; notAfterMs: number }>;
}

const END_LINE = Buffer.from('-----END ');
const NEWLINE = Buffer.from('\n');

// The first certificate OpenSSL's PEM reader returns from `bytes`: X509Certificate reads a PEM
// text with PEM_read_bio_X509_AUX, the reader Node's secure context loads `ca` with (it skips
// text and well-formed blocks of other kinds, and fails at a block that does not decode). Its
// fallback to DER reads from the first byte only, which a line break ahead of it stops: the secure
// context reads no DER.
function firstCertificate(bytes: Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(bytes[0] === 0x30 ? Buffer.concat([NEWLINE, bytes]) : bytes);
  } catch {
    return undefined;
  }
}

// Where OpenSSL's reader stops after reading `first` from `bytes`: the end of the first END line up
// to which `bytes` already holds it (the reader works line by line, so a shorter text read the same).
function endOfFirst(bytes: Buffer, first: X509Certificate): number {
  for (let at = bytes.indexOf(END_LINE); at !== -1; at = bytes.indexOf(END_LINE, at + 1)) {
    const newline = bytes.indexOf(0x0a, at);
    const end = newline === -1 ? bytes.length : newline + 1;
    if (firstCertificate(bytes.subarray(0, end))?.raw.equals(first.raw)) return end;
  }
  return bytes.length;
}

/**
 * The certificates a secure context given `ca` trusts, read as it reads them: one after the other
 * until the reader fails (a block that does not decode, two blocks joined on one line by a file
 * that did not end with a line break, a DER file). A pattern over the text found blocks OpenSSL
 * does not read (indented, or joined on one line) and went on past a broken block of another kind.
 */
export function certificatesLoaded(ca: Buffer): X509Certificate[] {
  const loaded: X509Certificate[] = [];
  let rest = ca;
  for (let next = firstCertificate(rest); next; next = firstCertificate(rest)) {
    loaded.push(next);
    rest = rest.subarray(endOfFirst(rest, next));
  }
  return loaded;
}

/** The notAfter of every CA the bundle's secure context trusts (certificatesLoaded), or undefined if none. */
export function clientCaValidity(ca: Buffer): ClientCaValidity | undefined {
  const periods = certificatesLoaded(ca).map((certificate) => ({
    notBeforeMs: Date.parse(certificate.validFrom),
    notAfterMs: Date.parse(certificate.validTo),
  }));
  if (periods.length === 0) return undefined;
  const notAfters = periods.map((period) => period.notAfterMs);
  const soonest = Math.min(...notAfters);
  return {
    notAfter: new Date(soonest).toISOString(),
    notAfterSeconds: soonest / 1000,
    lastNotAfter: new Date(Math.max(...notAfters)).toISOString(),
    certificates: periods.length,
    periods,
  };
}

// A certificate block where OpenSSL's reader looks for one: its BEGIN line a line of its own (a
// block indented, or commented out with "# ", is not one).
const CERTIFICATE_BEGIN = /^\uFEFF?-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----[\t\v\f\r ]*$/gm;

/**
 * Why the secure context given `ca` trusts fewer of its certificates than it holds, or undefined:
 * none (empty, a DER file, two PEM blocks joined on one line; the context is made all the same,
 * with no CA in it), or only those before a block that does not decode (a line lost or changed in
 * a copy): OpenSSL stops there and trusts none after it, so a rotation's new CA, added last, was
 * left out while the bundle loaded. `bundle` names it in the words.
 */
export function unreadCertificates(ca: Buffer, read: number, bundle: string): string | undefined {
  if (read === 0)
    return `OpenSSL reads no certificate from ${bundle} (each a PEM block on lines of its own: a file joined to the next without a final line break runs two together)`;
  const blocks = ca.toString('utf8').match(CERTIFICATE_BEGIN)?.length ?? 0;
  if (read < blocks)
    return `OpenSSL reads ${read} of the ${blocks} certificates in ${bundle}: it stops at the first block that does not decode (a line lost or changed) and trusts none after it`;
  return undefined;
}

/** Files that do not load now and will from `fromMs` on (read again then). */
export class NotValidYet extends Error {
  constructor(
    message: string,
    readonly fromMs: number,
  ) {
    super(message);
  }
}

/**
 * A changed client CA bundle that would refuse sensors it means to let in is not put in place of
 * the one the listener has: one with no CA valid now (every one expired, as in a Secret restored
 * from an old backup, or not valid yet, as one made on a machine whose clock runs ahead: nothing
 * verifies until then: NotValidYet, read again at the first notBefore), or one whose certificates
 * OpenSSL does not all read (unreadCertificates). One CA valid now is enough (a rotation's old CA
 * beside the new).
 */
export function refuseUnusableClientCa(
  ca: Buffer,
  validity: ClientCaValidity | undefined,
  nowMs: number,
  bundle = 'the new bundle',
): void {
  const unread = unreadCertificates(ca, validity?.certificates ?? 0, bundle);
  if (unread !== undefined) throw new Error(`TLS_CLIENT_CA_FILE: ${unread}`);
  const { periods, lastNotAfter } = validity!;
  if (periods.some(({ notBeforeMs, notAfterMs }) => notBeforeMs <= nowMs && nowMs < notAfterMs)) return;
  if (Date.parse(lastNotAfter) <= nowMs)
    throw new Error(`TLS_CLIENT_CA_FILE: every CA of ${bundle} has expired, the last at ${lastNotAfter}`);
  const first = Math.min(
    ...periods.filter(({ notAfterMs }) => notAfterMs > nowMs).map(({ notBeforeMs }) => notBeforeMs),
  );
  throw new NotValidYet(
    `TLS_CLIENT_CA_FILE: no CA of ${bundle} is valid now (the first to become valid does at ${new Date(first).toISOString()}; no client certificate verifies before then)`,
    first,
  );
}
