// TLS of proxyless gRPC clusters and server ports (as grpc-js-xds
// implements it). gRPC takes certificates only from certificate provider
// instances named in its bootstrap; `meshlite agent --grpc` writes one named
// `default` (file_watcher: key, chain and CA bundle kept rotated on disk).
// grpc-js-xds reads `tls_certificate_provider_instance` and
// `validation_context.ca_certificate_provider_instance` by instance name only;
// the certificate names say which part is meant, as Istio's SDS names do.
import { typed } from './common.js';
import type { CommonTlsContext, TransportSocket } from './envoy-types/index.js';
import { TYPE } from './type-urls.js';

export const PROXYLESS_CERTIFICATE_PROVIDER = 'default';
const TLS_SOCKET = 'envoy.transport_sockets.tls';

function commonTlsContext(subjectAltNames: readonly string[]): CommonTlsContext {
  return {
    tls_certificate_provider_instance: { instance_name: PROXYLESS_CERTIFICATE_PROVIDER, certificate_name: 'default' },
    validation_context: {
      ca_certificate_provider_instance: { instance_name: PROXYLESS_CERTIFICATE_PROVIDER, certificate_name: 'ROOTCA' },
      // grpc-js-xds checks the server's SANs against `match_subject_alt_names` (it ignores the typed variant).
      ...(subjectAltNames.length > 0 ? { match_subject_alt_names: subjectAltNames.map((exact) => ({ exact })) } : {}),
    },
  };
}

/** Client side: mTLS to servers presenting one of `subjectAltNames` (SPIFFE ids). */
export function proxylessUpstreamTls(subjectAltNames: readonly string[]): TransportSocket {
  return { name: TLS_SOCKET, typed_config: typed(TYPE.upstreamTlsContext, { common_tls_context: commonTlsContext(subjectAltNames) }) };
}

/** Server side (STRICT): a client certificate signed by the mesh roots is required; who may call is RBAC's business. */
export const PROXYLESS_DOWNSTREAM_MTLS: TransportSocket = {
  name: TLS_SOCKET,
  typed_config: typed(TYPE.downstreamTlsContext, { common_tls_context: commonTlsContext([]), require_client_certificate: true }),
};
