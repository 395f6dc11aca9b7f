// Schema pieces shared by several kinds, and converters for their values.
import { isIP } from 'node:net';
import { bool, int, labels, list, obj, oneOf, str, type Schema } from '../schema.js';
import type { ClientTlsSettings, Labels, MtlsMode } from '../types.js';

export const DURATION = str({
  pattern: /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/,
  hint: 'expected a duration such as "5s", "100ms" or "1m30s"',
});

/** A duration that matched DURATION, in milliseconds (fractions kept). */
export function durationMillis(text: string): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  let millis = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) millis += Number(m[1]) * unit[m[2]!]!;
  return millis;
}

export const MTLS_MODE = oneOf('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT');

export const CLIENT_TLS: Schema = obj({
  mode: oneOf('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
  clientCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  caCrl: str(),
  credentialName: str(),
  subjectAltNames: list(str()),
  sni: str(),
  insecureSkipVerify: bool(),
});

export const WORKLOAD_SELECTOR: Schema = obj({ matchLabels: labels() });
export const SE_WORKLOAD_SELECTOR: Schema = obj({ labels: labels() });

export const UINT32 = int(0, 4294967295);

export function toLabels(value: unknown): Labels {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object') {
    for (const key of Object.keys(value).sort()) out[key] = String((value as Record<string, unknown>)[key]);
  }
  return out;
}

export function toMtlsMode(value: unknown): MtlsMode {
  return (typeof value === 'string' ? value : 'UNSET') as MtlsMode;
}

type Report = (path: (string | number)[], message: string) => void;

export function toClientTls(raw: Record<string, unknown>, path: (string | number)[], report: Report): ClientTlsSettings {
  const tls: ClientTlsSettings = {
    mode: (raw.mode as ClientTlsSettings['mode']) ?? 'DISABLE',
    clientCertificate: raw.clientCertificate as string | undefined,
    privateKey: raw.privateKey as string | undefined,
    caCertificates: raw.caCertificates as string | undefined,
    caCrl: raw.caCrl as string | undefined,
    credentialName: raw.credentialName as string | undefined,
    subjectAltNames: [...((raw.subjectAltNames as string[] | undefined) ?? [])],
    sni: raw.sni as string | undefined,
    insecureSkipVerify: raw.insecureSkipVerify === true,
  };
  if (tls.credentialName && (tls.clientCertificate || tls.privateKey || tls.caCertificates)) {
    report([...path, 'credentialName'], 'cannot be combined with clientCertificate, privateKey or caCertificates');
  }
  if (tls.mode === 'MUTUAL' && !tls.credentialName) {
    if (!tls.clientCertificate) report([...path, 'clientCertificate'], 'MUTUAL mode needs clientCertificate (or credentialName)');
    if (!tls.privateKey) report([...path, 'privateKey'], 'MUTUAL mode needs privateKey (or credentialName)');
  }
  if (
    (tls.mode === 'DISABLE' || tls.mode === 'ISTIO_MUTUAL') &&
    (tls.clientCertificate || tls.privateKey || tls.caCertificates || tls.credentialName)
  ) {
    const mode = raw.mode === undefined ? 'DISABLE (the default when mode is not set)' : tls.mode;
    report([...path, 'mode'], `${mode} takes no certificates; use SIMPLE or MUTUAL to set them`);
  }
  return tls;
}

// ---- host names, addresses and percentages (Gateway, VirtualService) ----

export type { Report };

/** A lower-case DNS-1123 label, as Kubernetes and Istio require for names and namespaces. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** Why `value` is not an IP address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`), or undefined. */
export function subnetProblem(value: string): string | undefined {
  const [address = '', length, extra] = value.split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const lengthOk = length === undefined || (/^\d{1,3}$/.test(length) && Number(length) <= max);
  if (family === 0 || !lengthOk || extra !== undefined)
    return `invalid value ${JSON.stringify(value)}: expected an IP address or a CIDR block such as 10.0.0.0/8`;
  return undefined;
}

export interface HostRules {
  /** Names without a dot (`reviews`), resolved against the namespace. */
  shortNames: boolean;
  /** The lone wildcard `*`. */
  star: boolean;
  /** IP addresses in place of a name. */
  ip: boolean;
}

/**
 * Why `host` is not a host name meshlite accepts, or undefined: lower-case DNS
 * labels, optionally behind a leading `*.`; `*` and IPs only where allowed.
 */
export function hostProblem(host: string, rules: HostRules): string | undefined {
  if (host === '') return 'must not be empty';
  if (host === '*') return rules.star ? undefined : '"*" is not allowed here';
  if (isIpAddress(host)) return rules.ip ? undefined : `an IP address (${host}) is not allowed here`;
  const wildcard = host.startsWith('*.');
  const name = wildcard ? host.slice(2) : host;
  if (name.includes('*'))
    return `invalid host ${JSON.stringify(host)}: a wildcard is only allowed as a whole first label ("*.example.com")`;
  const labels = name.split('.');
  const label = labels.find((l) => !DNS_LABEL.test(l) || l.length > 63);
  if (label !== undefined || host.length > 253)
    return `invalid host ${JSON.stringify(host)}: expected lower-case DNS labels (letters, digits, "-") separated by dots`;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return `invalid host ${JSON.stringify(host)}: the last label cannot be all digits`;
  if (!rules.shortNames && !wildcard && labels.length === 1)
    return `short name ${JSON.stringify(host)} is not allowed here; use a fully qualified name such as "${host}.example.com"`;
  return undefined;
}

/** Does the host pattern `pattern` (`*`, `*.suffix` or a name) cover every host `host` covers? */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  if (!pattern.startsWith('*.') || host === '*') return false;
  return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
}

/** An Istio `Percent` ({value: 0-100}, fractions allowed) as a number. */
export function toPercent(raw: Record<string, unknown>, path: (string | number)[], report: Report): number {
  const value = raw.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    report([...path, 'value'], `expected a number from 0 to 100, got ${JSON.stringify(value)}`);
    return 0;
  }
  return value;
}
