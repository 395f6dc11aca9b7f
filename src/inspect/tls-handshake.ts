// The TLS side of a call between two proxies: which transport socket a
// cluster uses for an endpoint (including auto mTLS through transport socket
// matches on the endpoint's metadata), and whether the handshake between that
// client context and a server chain's context would succeed. Mesh
// certificates are the SDS secrets `default` (the workload's) and `ROOTCA`
// (the mesh trust); anything else is a certificate from outside the mesh.
import { arr, type JsonObject, obj, str, typedConfig } from './dump-index.js';

export type Origin = 'mesh' | 'other' | 'none';

export interface TlsSide {
  certificate: Origin;
  trust: Origin;
  /** SAN matchers on the peer's certificate. */
  sans: JsonObject[];
  sni?: string;
  alpn: string[];
  requireClientCertificate: boolean;
}

export type UpstreamSocket = { tls: false; matchName?: string } | { tls: true; side: TlsSide; matchName?: string };

export function upstreamSocket(cluster: JsonObject, lbEndpoint: JsonObject): UpstreamSocket {
  const matches = arr(cluster.transport_socket_matches).map(obj);
  if (matches.length > 0) {
    const labels = obj(obj(obj(lbEndpoint.metadata).filter_metadata)['envoy.transport_socket_match']);
    for (const m of matches) {
      if (Object.entries(obj(m.match)).every(([k, v]) => labels[k] === v))
        return { ...socketOf(obj(m.transport_socket)), matchName: str(m.name) };
    }
  }
  return socketOf(obj(cluster.transport_socket));
}

function socketOf(socket: JsonObject): UpstreamSocket {
  const config = typedConfig(socket);
  if (!String(config['@type'] ?? '').endsWith('UpstreamTlsContext')) return { tls: false };
  return { tls: true, side: tlsSide(config) };
}

/** A chain's downstream TLS side, or undefined for a plaintext chain. */
export function downstreamTls(chain: JsonObject): TlsSide | undefined {
  const config = typedConfig(chain.transport_socket);
  if (!String(config['@type'] ?? '').endsWith('DownstreamTlsContext')) return undefined;
  return tlsSide(config);
}

function tlsSide(context: JsonObject): TlsSide {
  const common = obj(context.common_tls_context);
  const sdsCerts = arr(common.tls_certificate_sds_secret_configs).map((s) => str(obj(s).name));
  const certificate: Origin = sdsCerts.includes('default')
    ? 'mesh'
    : sdsCerts.length > 0 || arr(common.tls_certificates).length > 0
      ? 'other'
      : 'none';
  const combined = obj(common.combined_validation_context);
  const validation = obj(common.validation_context ?? combined.default_validation_context);
  const trustSds = str(obj(common.validation_context_sds_secret_config ?? combined.validation_context_sds_secret_config).name);
  const trust: Origin = trustSds === 'ROOTCA' ? 'mesh' : trustSds !== undefined || validation.trusted_ca ? 'other' : 'none';
  return {
    certificate,
    trust,
    sans: [...arr(validation.match_typed_subject_alt_names), ...arr(validation.match_subject_alt_names)].map(obj),
    sni: str(context.sni),
    alpn: arr(common.alpn_protocols).map(String),
    requireClientCertificate: context.require_client_certificate === true,
  };
}

export type Handshake = { ok: true } | { ok: false; why: string } | { ok: 'unknown'; why: string };

/** Client side `client` (identity when its certificate is the mesh one) meets server side `server`. */
export function handshake(
  client: TlsSide,
  clientIdentity: string | undefined,
  server: TlsSide,
  serverIdentity: string | undefined,
): Handshake {
  const serverCert = verify(client, server.certificate, serverIdentity, 'the server');
  if (serverCert.ok !== true) return serverCert;
  if (client.certificate === 'none')
    return server.requireClientCertificate
      ? { ok: false, why: 'the server requires a client certificate and the client has none' }
      : { ok: true };
  return verify(server, client.certificate, clientIdentity, 'the client');
}

function verify(verifier: TlsSide, peerCert: Origin, peerIdentity: string | undefined, peer: string): Handshake {
  if (verifier.trust === 'none') return { ok: true };
  if (peerCert === 'none') return { ok: false, why: `${peer} presents no certificate` };
  if (verifier.trust !== peerCert) {
    return peerCert === 'other' && verifier.trust === 'other'
      ? { ok: 'unknown', why: `${peer}'s certificate and its verifier's CA both come from outside the mesh` }
      : {
          ok: false,
          why: `${peer}'s certificate is ${peerCert === 'mesh' ? 'from the mesh CA' : 'not from the mesh CA'}, its verifier trusts ${verifier.trust === 'mesh' ? 'the mesh CA' : 'another CA'}`,
        };
  }
  if (verifier.trust === 'other') return { ok: 'unknown', why: `${peer}'s certificate comes from outside the mesh` };
  if (verifier.sans.length === 0) return { ok: true };
  if (peerIdentity === undefined) return { ok: 'unknown', why: `${peer}'s identity is unknown` };
  return verifier.sans.some((m) => sanMatches(m, peerIdentity))
    ? { ok: true }
    : { ok: false, why: `${peer}'s identity ${peerIdentity} is not among the accepted names` };
}

function sanMatches(matcher: JsonObject, uri: string): boolean {
  const san = matcher.san_type === undefined ? matcher : obj(matcher.matcher);
  if (matcher.san_type !== undefined && matcher.san_type !== 'URI') return false;
  if (typeof san.exact === 'string') return uri === san.exact;
  if (typeof san.prefix === 'string') return uri.startsWith(san.prefix);
  if (typeof san.suffix === 'string') return uri.endsWith(san.suffix);
  if (typeof san.contains === 'string') return uri.includes(san.contains);
  const regex = str(obj(san.safe_regex).regex);
  if (regex !== undefined) {
    try {
      return new RegExp(`^(?:${regex})$`).test(uri);
    } catch {
      return false;
    }
  }
  return false;
}
