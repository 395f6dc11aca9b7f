// Throwaway certificate authorities for e2e tests that need certificates from
// outside the mesh (an HTTPS server with its own CA, a database that wants
// client certificates): ECDSA P-256, made at runtime and written as PEM files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { x509 } from '../../../src/ca/x509-lib.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const HOUR = 3600_000;

export interface PemFiles {
  /** The certificate (PEM). */
  cert: string;
  /** The private key (PKCS#8 PEM). */
  key: string;
  certPem: string;
  keyPem: string;
}

export interface LeafOptions {
  commonName: string;
  dnsNames?: readonly string[];
  ips?: readonly string[];
  /** URI SANs, e.g. a SPIFFE ID. */
  uris?: readonly string[];
  /** `peer`: both, as a member of a cluster presents one certificate to clients and to the other members. */
  usage: 'server' | 'client' | 'peer';
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

const serial = () => `01${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(15))).toString('hex')}`;

async function newKeys(): Promise<CryptoKeyPair> {
  return (await globalThis.crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** A root CA that signs leaf certificates, files under `<dir>/`. */
export class TestCa {
  private constructor(
    readonly dir: string,
    readonly name: string,
    private readonly keys: CryptoKeyPair,
    private readonly certificate: x509.X509Certificate,
    /** Path of the CA certificate (what a DestinationRule's caCertificates names). */
    readonly caFile: string,
  ) {}

  /** Creates `<dir>` and `<dir>/<caFileName>` holding the new root. */
  static async create(dir: string, name: string, caFileName = 'ca.pem'): Promise<TestCa> {
    mkdirSync(dir, { recursive: true });
    const keys = await newKeys();
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${name},O=meshlite e2e`,
      notBefore: new Date(now - HOUR),
      notAfter: new Date(now + 24 * HOUR),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const caFile = join(dir, caFileName);
    writeFileSync(caFile, `${certificate.toString('pem')}\n`);
    return new TestCa(dir, name, keys, certificate, caFile);
  }

  get certPem(): string {
    return `${this.certificate.toString('pem')}\n`;
  }

  /** Issues a leaf and writes `<dir>/<file>.pem` and `<dir>/<file>-key.pem`. */
  async issue(file: string, leaf: LeafOptions): Promise<PemFiles> {
    const keys = await newKeys();
    const now = Date.now();
    const sans: { type: 'dns' | 'ip' | 'url'; value: string }[] = [
      ...(leaf.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(leaf.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(leaf.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ];
    const usages = [
      ...(leaf.usage === 'client' ? [] : [x509.ExtendedKeyUsage.serverAuth]),
      ...(leaf.usage === 'server' ? [] : [x509.ExtendedKeyUsage.clientAuth]),
    ];
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${leaf.commonName},O=meshlite e2e`,
      issuer: this.certificate.subject,
      notBefore: new Date(now - HOUR),
      notAfter: new Date(now + 24 * HOUR),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(usages),
        ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const certPem = `${certificate.toString('pem')}\n`;
    const keyPem = pem('PRIVATE KEY', await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
    const cert = join(this.dir, `${file}.pem`);
    const key = join(this.dir, `${file}-key.pem`);
    writeFileSync(cert, certPem);
    writeFileSync(key, keyPem, { mode: 0o600 });
    return { cert, key, certPem, keyPem };
  }
}
