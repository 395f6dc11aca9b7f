// Typed shapes of security.istio.io AuthorizationPolicy and RequestAuthentication,
// as meshlite holds them after validation.
import type { Labels, Resource } from './resource.js';

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthzSource {
  principals: readonly string[];
  notPrincipals: readonly string[];
  /** `<namespace>/<serviceaccount>`: the peer's SPIFFE ID in one of the mesh's trust domains. */
  serviceAccounts: readonly string[];
  notServiceAccounts: readonly string[];
  requestPrincipals: readonly string[];
  notRequestPrincipals: readonly string[];
  namespaces: readonly string[];
  notNamespaces: readonly string[];
  ipBlocks: readonly string[];
  notIpBlocks: readonly string[];
  remoteIpBlocks: readonly string[];
  notRemoteIpBlocks: readonly string[];
}

export interface AuthzOperation {
  hosts: readonly string[];
  notHosts: readonly string[];
  ports: readonly string[];
  notPorts: readonly string[];
  methods: readonly string[];
  notMethods: readonly string[];
  paths: readonly string[];
  notPaths: readonly string[];
}

export interface AuthzCondition {
  /** e.g. `request.headers[x-token]`, `source.ip`, `request.auth.claims[iss]`, `destination.port`. */
  key: string;
  values: readonly string[];
  notValues: readonly string[];
}

export interface AuthzRule {
  from: readonly { source: AuthzSource }[];
  to: readonly { operation: AuthzOperation }[];
  when: readonly AuthzCondition[];
}

/**
 * What a policy's `targetRef`/`targetRefs` names. Outside Kubernetes only a
 * ServiceEntry of the policy's namespace can be pointed at (as `kind: Service`
 * or `kind: ServiceEntry`): the policy applies to the workloads its
 * workloadSelector selects.
 */
export interface AuthzTargetRef {
  kind: 'Service' | 'ServiceEntry';
  name: string;
}

export interface AuthorizationPolicySpec {
  selector?: Labels;
  /** Set instead of `selector`: the ServiceEntries whose workloads the policy applies to. */
  targetRefs?: readonly AuthzTargetRef[];
  action: AuthorizationAction;
  /** CUSTOM only: the extension provider declared in the mesh config. */
  provider?: string;
  /** Absent `rules` (as opposed to an empty list) matter: ALLOW with no rules denies all. */
  rules: readonly AuthzRule[];
  /**
   * `istio.io/dry-run` is true: ALLOW and DENY rules become Envoy shadow rules
   * (evaluated and counted, never enforced); AUDIT and CUSTOM ones are left out.
   * Absent when false, so enforced policies look as they always did.
   */
  dryRun?: true;
}

export interface JwtHeader {
  name: string;
  prefix?: string;
}

export interface JwtRule {
  issuer: string;
  audiences: readonly string[];
  jwksUri?: string;
  /** Inline JWKS JSON text. */
  jwks?: string;
  fromHeaders: readonly JwtHeader[];
  fromParams: readonly string[];
  fromCookies: readonly string[];
  outputPayloadToHeader?: string;
  outputClaimToHeaders: readonly { header: string; claim: string }[];
  forwardOriginalToken: boolean;
  /** Istio duration, for fetching jwksUri. */
  timeout?: string;
}

export interface RequestAuthenticationSpec {
  selector?: Labels;
  jwtRules: readonly JwtRule[];
}

export type AuthorizationPolicy = Resource<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type RequestAuthentication = Resource<'RequestAuthentication', RequestAuthenticationSpec>;
