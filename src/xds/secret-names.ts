// SDS secret names, as Istio's agent names them (what Envoys bootstrapped for Istio expect).
export const SECRET_NAMES = {
  workloadCert: 'default',
  rootCa: 'ROOTCA',
  fileCert: (cert: string, key: string) => `file-cert:${cert}~${key}`,
  fileRoot: (ca: string | undefined) => `file-root:${ca || 'system'}`,
  credential: (name: string) => `kubernetes://${name}`,
  credentialCa: (name: string) => `kubernetes://${name}-cacert`,
} as const;

export type ParsedSecretName =
  | { kind: 'workload-cert' }
  | { kind: 'root-ca' }
  | { kind: 'file-cert'; cert: string; key: string }
  | { kind: 'file-root'; ca: string | 'system' }
  | { kind: 'credential'; credential: string; ca: boolean }
  | { kind: 'unknown'; name: string };

export function parseSecretName(name: string): ParsedSecretName {
  if (name === SECRET_NAMES.workloadCert) return { kind: 'workload-cert' };
  if (name === SECRET_NAMES.rootCa) return { kind: 'root-ca' };
  if (name.startsWith('file-cert:')) {
    const [cert, key] = name.slice('file-cert:'.length).split('~');
    if (cert && key) return { kind: 'file-cert', cert, key };
  }
  if (name.startsWith('file-root:')) return { kind: 'file-root', ca: name.slice('file-root:'.length) };
  if (name.startsWith('kubernetes://')) {
    const rest = name.slice('kubernetes://'.length);
    return rest.endsWith('-cacert')
      ? { kind: 'credential', credential: rest.slice(0, -'-cacert'.length), ca: true }
      : { kind: 'credential', credential: rest, ca: false };
  }
  return { kind: 'unknown', name };
}
