// SDS secret references: which secret a proxy needs, as data, and the name
// Envoy asks for it by (Istio's agent's names, which Envoys bootstrapped for
// Istio expect). The model decides the references; builders write their names;
// the control plane serves each by its kind.
export const SECRET_NAMES = {
  workloadCert: 'default',
  rootCa: 'ROOTCA',
  fileCert: (cert: string, key: string) => `file-cert:${cert}~${key}`,
  fileRoot: (ca: string | undefined) => `file-root:${ca || 'system'}`,
  credential: (name: string) => `kubernetes://${name}`,
  credentialCa: (name: string) => `kubernetes://${name}-cacert`,
} as const;

export type SecretRef =
  | { kind: 'workload-cert'; name: string }
  | { kind: 'root-ca'; name: string }
  | { kind: 'file-cert'; name: string; cert: string; key: string }
  | { kind: 'file-root'; name: string; ca: string | 'system' }
  | { kind: 'credential'; name: string; credential: string; ca: boolean };

export const WORKLOAD_CERT: SecretRef = { kind: 'workload-cert', name: SECRET_NAMES.workloadCert };
export const ROOT_CA: SecretRef = { kind: 'root-ca', name: SECRET_NAMES.rootCa };

export function fileCertRef(cert: string, key: string): SecretRef {
  return { kind: 'file-cert', name: SECRET_NAMES.fileCert(cert, key), cert, key };
}

export function fileRootRef(ca: string | undefined): SecretRef {
  return { kind: 'file-root', name: SECRET_NAMES.fileRoot(ca), ca: ca || 'system' };
}

export function credentialRef(credential: string, ca: boolean): SecretRef {
  const name = ca ? SECRET_NAMES.credentialCa(credential) : SECRET_NAMES.credential(credential);
  return { kind: 'credential', name, credential, ca };
}

/** The reference a name stands for, or undefined for a name meshlite never writes. */
export function parseSecretName(name: string): SecretRef | undefined {
  if (name === SECRET_NAMES.workloadCert) return WORKLOAD_CERT;
  if (name === SECRET_NAMES.rootCa) return ROOT_CA;
  if (name.startsWith('file-cert:')) {
    const [cert, key] = name.slice('file-cert:'.length).split('~');
    if (cert && key) return fileCertRef(cert, key);
  }
  if (name.startsWith('file-root:')) {
    const ca = name.slice('file-root:'.length);
    return fileRootRef(ca === 'system' ? undefined : ca);
  }
  if (name.startsWith('kubernetes://')) {
    const rest = name.slice('kubernetes://'.length);
    return rest.endsWith('-cacert') ? credentialRef(rest.slice(0, -'-cacert'.length), true) : credentialRef(rest, false);
  }
  return undefined;
}

/** Distinct references by name, sorted by name (the order of a snapshot's secrets). */
export function uniqueSecretRefs(refs: Iterable<SecretRef>): SecretRef[] {
  const byName = new Map<string, SecretRef>();
  for (const ref of refs) if (!byName.has(ref.name)) byName.set(ref.name, ref);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
