// SPIFFE workload identities as meshlite (like Istio) spells them:
// spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>.
import { fail, ok, type Result } from './result.js';

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

// The SPIFFE ID spec allows only these characters; anything else (slashes,
// percent-encoding, upper case in the trust domain) would make an ID that
// different parsers read differently, which is a way to forge identities.
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]{1,253}$/;

export function validateTrustDomain(trustDomain: string): Result<string> {
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return fail(`trust domain ${JSON.stringify(trustDomain)} is not valid: use 1-255 of a-z 0-9 . - _`);
  }
  return ok(trustDomain);
}

function validateSegment(what: string, value: string): string | undefined {
  if (!PATH_SEGMENT.test(value) || value === '.' || value === '..') {
    return `${what} ${JSON.stringify(value)} is not valid in a SPIFFE ID: use 1-253 of A-Z a-z 0-9 . - _ (not "." or "..")`;
  }
  return undefined;
}

/** The SPIFFE ID of an identity, or why the identity cannot be one. */
export function spiffeIdOf(identity: WorkloadIdentity): Result<string> {
  const domain = validateTrustDomain(identity.trustDomain);
  if (!domain.ok) return domain;
  const problem = validateSegment('namespace', identity.namespace) ?? validateSegment('service account', identity.serviceAccount);
  if (problem) return fail(problem);
  return ok(`spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`);
}

/** Cache key of an identity within one trust domain: `ns/sa`. */
export function identityKey(identity: Pick<WorkloadIdentity, 'namespace' | 'serviceAccount'>): string {
  return `${identity.namespace}/${identity.serviceAccount}`;
}
