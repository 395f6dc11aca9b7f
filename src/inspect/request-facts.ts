// What the evaluator knows of one request (or TCP connection) as the
// receiving Envoy sees it.

export interface RequestFacts {
  /** URI SAN of the peer certificate (e.g. 'spiffe://cluster.local/ns/foo/sa/sleep'); undefined for plaintext or no client certificate. */
  peerPrincipal?: string;
  /** The connection's source address (remote and direct remote alike). */
  sourceIp?: string;
  destinationIp?: string;
  /** The port the inbound listener/filter chain serves (the target port). */
  destinationPort: number;
  /** SNI requested by the client. */
  serverName?: string;
  /** HTTP only; default 'GET'. */
  method?: string;
  /** HTTP only, with query; default '/'. */
  path?: string;
  /** :authority */
  host?: string;
  /** Lower-case names. */
  headers?: Record<string, string>;
  /** Verified JWT payload as jwt_authn would place it in dynamic metadata (request principals iss/sub, claims). */
  jwtPayload?: Record<string, unknown>;
  /** Dynamic metadata other filters wrote before RBAC, by filter namespace (e.g. a header_to_metadata filter's). */
  filterMetadata?: Record<string, Record<string, unknown>>;
}
