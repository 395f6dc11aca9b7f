// Gateway schema pieces and the checks of one server's TLS settings.
import { anything, bool, labels, list, obj, oneOf, port, str, type Schema } from '../schema.js';
import type { ServerTlsMode, ServerTlsSettings, TlsProtocolVersion } from '../types.js';
import type { Report } from './common-fields.js';

/** Server protocols meshlite translates for gateways (written in any case, kept upper-case). */
export const GATEWAY_PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'HTTP2', 'MONGO', 'TCP', 'TLS'] as const;
export type GatewayProtocol = (typeof GATEWAY_PROTOCOLS)[number];

/** How servers on one port can be told apart: merged HTTP, SNI, or not at all. */
export type PortFamily = 'http' | 'tls' | 'tcp';

export function familyOf(protocol: GatewayProtocol): PortFamily {
  if (protocol === 'HTTPS' || protocol === 'TLS') return 'tls';
  if (protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'GRPC') return 'http';
  return 'tcp';
}

const TLS_VERSIONS: TlsProtocolVersion[] = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

/** Istio ServerTLSSettings fields meshlite knows but does not translate: refused by name. */
const REFUSED_TLS_FIELDS = ['verifyCertificateSpki', 'verifyCertificateHash', 'caCrl', 'credentialNames', 'tlsCertificates'] as const;

const SERVER_TLS: Schema = obj({
  httpsRedirect: bool(),
  mode: oneOf('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
  serverCertificate: str({ nonEmpty: true }),
  privateKey: str({ nonEmpty: true }),
  caCertificates: str({ nonEmpty: true }),
  credentialName: str({ nonEmpty: true }),
  subjectAltNames: list(str({ nonEmpty: true })),
  minProtocolVersion: oneOf(...TLS_VERSIONS),
  maxProtocolVersion: oneOf(...TLS_VERSIONS),
  cipherSuites: list(str({ nonEmpty: true })),
  ...Object.fromEntries(REFUSED_TLS_FIELDS.map((f) => [f, anything()])),
});

const SERVER: Schema = obj(
  {
    port: obj(
      { number: port(), name: str({ nonEmpty: true }), protocol: str({ nonEmpty: true }), targetPort: port() },
      { required: ['number', 'name', 'protocol'] },
    ),
    hosts: list(str()),
    tls: SERVER_TLS,
    name: str({ nonEmpty: true }),
    bind: str({ nonEmpty: true }),
    defaultEndpoint: anything(),
  },
  { required: ['port', 'hosts'] },
);

/** `selector` and `servers` are checked by the build, to say why they are needed. */
export const GATEWAY_SPEC: Schema = obj({ selector: labels(), servers: list(SERVER) });

type Path = (string | number)[];
const CERT_FIELDS = ['serverCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const;
const TERMINATING: readonly ServerTlsMode[] = ['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL'];

/**
 * Checks and converts a server's `tls`. HTTPS and TLS servers need it; plain
 * HTTP servers may only carry `httpsRedirect`; TCP and MONGO servers none.
 */
export function toServerTls(
  protocol: GatewayProtocol,
  raw: Record<string, unknown> | undefined,
  path: Path,
  report: Report,
): ServerTlsSettings | undefined {
  const family = familyOf(protocol);
  if (family === 'tcp') {
    if (raw) report(path, `a ${protocol} server takes no tls settings; use protocol TLS to terminate or pass through TLS`);
    return undefined;
  }
  if (family === 'http') {
    if (!raw) return undefined;
    for (const key of Object.keys(raw)) {
      if (key !== 'httpsRedirect' && raw[key] !== null)
        report([...path, key], `a ${protocol} server only takes tls.httpsRedirect; use protocol HTTPS to terminate TLS`);
    }
    if (raw.httpsRedirect !== true) return undefined;
    return { mode: 'PASSTHROUGH', httpsRedirect: true, subjectAltNames: [], cipherSuites: [] };
  }
  if (!raw) {
    report(path, `a ${protocol} server needs tls settings (a mode, and certificates to terminate TLS)`);
    return undefined;
  }
  for (const field of REFUSED_TLS_FIELDS) {
    if (raw[field] != null) report([...path, field], `${field} is not supported by meshlite`);
  }
  if (raw.httpsRedirect === true) report([...path, 'httpsRedirect'], 'httpsRedirect only applies to plain HTTP servers');
  const tls: ServerTlsSettings = {
    mode: (raw.mode as ServerTlsMode | undefined) ?? 'PASSTHROUGH',
    httpsRedirect: false,
    credentialName: raw.credentialName as string | undefined,
    serverCertificate: raw.serverCertificate as string | undefined,
    privateKey: raw.privateKey as string | undefined,
    caCertificates: raw.caCertificates as string | undefined,
    subjectAltNames: [...((raw.subjectAltNames as string[] | undefined) ?? [])],
    minProtocolVersion: raw.minProtocolVersion as TlsProtocolVersion | undefined,
    maxProtocolVersion: raw.maxProtocolVersion as TlsProtocolVersion | undefined,
    cipherSuites: [...((raw.cipherSuites as string[] | undefined) ?? [])],
  };
  checkCertificates(tls, raw.mode === undefined || raw.mode === null, path, report);
  if (tls.mode === 'AUTO_PASSTHROUGH' && protocol !== 'TLS')
    report([...path, 'mode'], `AUTO_PASSTHROUGH needs protocol TLS, not ${protocol}`);
  const min = tls.minProtocolVersion;
  const max = tls.maxProtocolVersion;
  if (min && max && min !== 'TLS_AUTO' && max !== 'TLS_AUTO' && TLS_VERSIONS.indexOf(min) > TLS_VERSIONS.indexOf(max)) {
    report([...path, 'maxProtocolVersion'], `maxProtocolVersion ${max} is below minProtocolVersion ${min}`);
  }
  const seen = new Set<string>();
  tls.cipherSuites.forEach((suite, i) => {
    if (seen.has(suite)) report([...path, 'cipherSuites', i], `cipher suite "${suite}" is listed twice`);
    seen.add(suite);
  });
  return tls;
}

function checkCertificates(tls: ServerTlsSettings, modeIsDefault: boolean, path: Path, report: Report): void {
  const mode = tls.mode;
  const files = tls.serverCertificate !== undefined || tls.privateKey !== undefined || tls.caCertificates !== undefined;
  if (!TERMINATING.includes(mode)) {
    const described = modeIsDefault ? `${mode} (the default when mode is not set)` : mode;
    if (CERT_FIELDS.some((f) => tls[f] !== undefined)) {
      report([...path, 'mode'], `${described} takes no certificates; use SIMPLE, MUTUAL or OPTIONAL_MUTUAL to set them`);
    }
    if (mode !== 'ISTIO_MUTUAL') {
      for (const field of ['subjectAltNames', 'minProtocolVersion', 'maxProtocolVersion', 'cipherSuites'] as const) {
        const value = tls[field];
        if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
          report([...path, field], `has no effect in ${mode} mode: the gateway does not terminate TLS`);
        }
      }
    }
    return;
  }
  if (tls.credentialName !== undefined) {
    if (files) report([...path, 'credentialName'], 'cannot be combined with serverCertificate, privateKey or caCertificates');
  } else {
    if (tls.serverCertificate === undefined)
      report([...path, 'serverCertificate'], `${mode} mode needs serverCertificate (or credentialName)`);
    if (tls.privateKey === undefined) report([...path, 'privateKey'], `${mode} mode needs privateKey (or credentialName)`);
    if (mode !== 'SIMPLE' && tls.caCertificates === undefined) {
      report(
        [...path, 'caCertificates'],
        `${mode} mode needs caCertificates to verify client certificates (or credentialName, whose CA comes from "<name>-cacert")`,
      );
    }
  }
  if (mode === 'SIMPLE') {
    if (tls.caCertificates !== undefined && tls.credentialName === undefined) {
      report(
        [...path, 'caCertificates'],
        'SIMPLE mode does not verify client certificates; caCertificates needs MUTUAL or OPTIONAL_MUTUAL',
      );
    }
    if (tls.subjectAltNames.length > 0) {
      report(
        [...path, 'subjectAltNames'],
        'SIMPLE mode does not verify client certificates; subjectAltNames needs MUTUAL or OPTIONAL_MUTUAL',
      );
    }
  }
}
