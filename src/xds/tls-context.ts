// Upstream and downstream TLS contexts: mesh mTLS with SDS `default`/`ROOTCA`,
// and user-supplied certificates referenced as SDS secrets by name.
import { ROOT_CA, WORKLOAD_CERT } from '../model/secret-refs.js';
import type { ClientTlsSettings, IstioMutualTls, SecretRef } from '../model/view-types.js';
import { sdsSecretConfig, TLS_PARAMS, typed } from './common.js';
import type {
  AnyPayloads,
  CertificateValidationContext,
  CommonTlsContext,
  SubjectAltNameMatcher,
  TransportSocket,
  UpstreamTlsContext,
} from './envoy-types/index.js';
import { TYPE } from './type-urls.js';

/** ALPN values an Istio sidecar offers for mesh mTLS; PERMISSIVE chains match on them. */
export const ISTIO_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

/** SAN matchers by type: SPIFFE IDs are URI SANs, anything else a DNS name. */
export function sanMatchers(sans: readonly string[], kind: 'exact' | 'prefix' = 'exact'): SubjectAltNameMatcher[] {
  return sans.map((san) => ({ san_type: san.startsWith('spiffe://') ? 'URI' : 'DNS', matcher: { [kind]: san } }));
}

type TlsContextUrl = typeof TYPE.upstreamTlsContext | typeof TYPE.downstreamTlsContext;

function tlsSocket<U extends TlsContextUrl>(typeUrl: U, context: AnyPayloads[U]): TransportSocket {
  return { name: 'envoy.transport_sockets.tls', typed_config: typed(typeUrl, context) };
}

export function istioMutualUpstreamSocket(tls: IstioMutualTls): TransportSocket {
  return tlsSocket(TYPE.upstreamTlsContext, {
    common_tls_context: {
      tls_params: TLS_PARAMS,
      alpn_protocols: tls.alpn,
      tls_certificate_sds_secret_configs: [sdsSecretConfig(WORKLOAD_CERT.name)],
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: sanMatchers(tls.subjectAltNames) },
        validation_context_sds_secret_config: sdsSecretConfig(ROOT_CA.name),
      },
    },
    sni: tls.sni,
  });
}

/** SIMPLE or MUTUAL origination with files or a credentialName (served by meshlite over SDS). */
export function userUpstreamSocket(settings: ClientTlsSettings, certificate?: SecretRef, validation?: SecretRef): TransportSocket {
  const common: CommonTlsContext = { tls_params: TLS_PARAMS };
  if (certificate) common.tls_certificate_sds_secret_configs = [sdsSecretConfig(certificate.name)];
  if (validation) {
    const defaults: CertificateValidationContext = {};
    if (settings.subjectAltNames.length > 0) defaults.match_typed_subject_alt_names = sanMatchers([...settings.subjectAltNames].sort());
    if (settings.caCrl) defaults.crl = { filename: settings.caCrl };
    common.combined_validation_context = {
      default_validation_context: defaults,
      validation_context_sds_secret_config: sdsSecretConfig(validation.name),
    };
  }
  const context: UpstreamTlsContext = { common_tls_context: common };
  if (settings.sni) context.sni = settings.sni;
  return tlsSocket(TYPE.upstreamTlsContext, context);
}

/** Inbound mesh mTLS: client certificate required and from one of our trust domains. */
export function istioMutualDownstreamSocket(trustDomains: readonly string[], alpn: readonly string[]): TransportSocket {
  const common: CommonTlsContext = {
    tls_params: TLS_PARAMS,
    tls_certificate_sds_secret_configs: [sdsSecretConfig(WORKLOAD_CERT.name)],
    combined_validation_context: {
      default_validation_context: {
        match_typed_subject_alt_names: sanMatchers(
          trustDomains.map((td) => `spiffe://${td}/`),
          'prefix',
        ),
      },
      validation_context_sds_secret_config: sdsSecretConfig(ROOT_CA.name),
    },
  };
  if (alpn.length > 0) common.alpn_protocols = [...alpn];
  return tlsSocket(TYPE.downstreamTlsContext, { common_tls_context: common, require_client_certificate: true });
}
