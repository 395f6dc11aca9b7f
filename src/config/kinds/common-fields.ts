// Schema pieces shared by several kinds, and converters for their values.
import { bool, int, labels, list, obj, oneOf, str, type Schema } from '../schema.js';
import type { ClientTlsSettings, Labels, MtlsMode } from '../types.js';

export const DURATION = str({ pattern: /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/, hint: 'expected a duration such as "5s", "100ms" or "1m30s"' });

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
  if ((tls.mode === 'DISABLE' || tls.mode === 'ISTIO_MUTUAL') && (tls.clientCertificate || tls.privateKey || tls.caCertificates || tls.credentialName)) {
    const mode = raw.mode === undefined ? 'DISABLE (the default when mode is not set)' : tls.mode;
    report([...path, 'mode'], `${mode} takes no certificates; use SIMPLE or MUTUAL to set them`);
  }
  return tls;
}
