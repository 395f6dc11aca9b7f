// What the control plane needs from a CA: the trust bundle and a current
// certificate per workload identity, with word of rotations.
export interface WorkloadKeyPair {
  certChainPem: string;
  privateKeyPem: string;
  serialNumber: string;
  notAfter: Date;
}

export interface WorkloadCredentialSource {
  rootCertPem(): string;
  certificateFor(identity: { namespace: string; serviceAccount: string }): Promise<WorkloadKeyPair>;
  /** Called with `<namespace>/<serviceAccount>` whenever that identity's certificate was replaced. */
  onRotated(listener: (identityKey: string) => void): void;
  /** Called whenever rootCertPem() changed (a CA root rotation): every proxy needs the new bundle. */
  onTrustChanged?(listener: () => void): void;
}
