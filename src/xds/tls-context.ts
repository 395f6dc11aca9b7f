// Upstream and downstream TLS contexts: mesh mTLS with SDS `default`/`ROOTCA`,
// and user-supplied certificates referenced as SDS secrets by name.
import type { ClientTlsSettings } from '../config/types.js';
import type { IstioMutualTls } from '../model/proxy-view.js';
import { type JsonObject, sdsSecretConfig, TLS_PARAMS, typed } from './common.js';
import { SECRET_NAMES } from './secret-names.js';
import { TYPE } from './type-urls.js';

/** ALPN values an Istio sidecar offers for mesh mTLS; PERMISSIVE chains match on them. */
export const ISTIO_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

/** SAN matchers by type: SPIFFE IDs are URI SANs, anything else a DNS name. */
export function sanMatchers(sans: readonly string[], kind: 'exact' | 'prefix' = 'exact'): JsonObject[] {
  return sans.map((san) => ({ san_type: san.startsWith('spiffe://') ? 'URI' : 'DNS', matcher: { [kind]: san } }));
}

function tlsSocket(typeUrl: string, context: JsonObject): JsonObject {
  return { name: 'envoy.transport_sockets.tls', typed_config: typed(typeUrl, context) };
}

export function istioMutualUpstreamSocket(tls: IstioMutualTls): JsonObject {
  return tlsSocket(TYPE.upstreamTlsContext, {
    common_tls_context: {
      tls_params: TLS_PARAMS,
      alpn_protocols: tls.alpn,
      tls_certificate_sds_secret_configs: [sdsSecretConfig(SECRET_NAMES.workloadCert)],
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: sanMatchers(tls.subjectAltNames) },
        validation_context_sds_secret_config: sdsSecretConfig(SECRET_NAMES.rootCa),
      },
    },
    sni: tls.sni,
  });
}

/** SIMPLE or MUTUAL origination with files or a credentialName (served by meshlite over SDS). */
export function userUpstreamSocket(settings: ClientTlsSettings, mutual: boolean): JsonObject {
  const common: JsonObject = { tls_params: TLS_PARAMS };
  if (mutual) {
    const cert = settings.credentialName
      ? SECRET_NAMES.credential(settings.credentialName)
      : SECRET_NAMES.fileCert(settings.clientCertificate!, settings.privateKey!);
    common.tls_certificate_sds_secret_configs = [sdsSecretConfig(cert)];
  }
  if (!settings.insecureSkipVerify) {
    const root = settings.credentialName
      ? SECRET_NAMES.credentialCa(settings.credentialName)
      : SECRET_NAMES.fileRoot(settings.caCertificates);
    const defaults: JsonObject = {};
    if (settings.subjectAltNames.length > 0) defaults.match_typed_subject_alt_names = sanMatchers([...settings.subjectAltNames].sort());
    if (settings.caCrl) defaults.crl = { filename: settings.caCrl };
    common.combined_validation_context = {
      default_validation_context: defaults,
      validation_context_sds_secret_config: sdsSecretConfig(root),
    };
  }
  const context: JsonObject = { common_tls_context: common };
  if (settings.sni) context.sni = settings.sni;
  return tlsSocket(TYPE.upstreamTlsContext, context);
}

/** Inbound mesh mTLS: client certificate required and from one of our trust domains. */
export function istioMutualDownstreamSocket(trustDomains: readonly string[], alpn: readonly string[]): JsonObject {
  const common: JsonObject = {
    tls_params: TLS_PARAMS,
    tls_certificate_sds_secret_configs: [sdsSecretConfig(SECRET_NAMES.workloadCert)],
    combined_validation_context: {
      default_validation_context: {
        match_typed_subject_alt_names: sanMatchers(
          trustDomains.map((td) => `spiffe://${td}/`),
          'prefix',
        ),
      },
      validation_context_sds_secret_config: sdsSecretConfig(SECRET_NAMES.rootCa),
    },
  };
  if (alpn.length > 0) common.alpn_protocols = [...alpn];
  return tlsSocket(TYPE.downstreamTlsContext, { common_tls_context: common, require_client_certificate: true });
}
