// DownstreamTlsContext for a Gateway server: certificates from a credential,
// files or the mesh CA; client certificates required for MUTUAL and ISTIO_MUTUAL.
import type { ServerSecrets, ServerTlsSettings, TlsProtocolVersion } from '../model/view-types.js';
import { sdsSecretConfig, typed } from './common.js';
import type {
  CertificateValidationContext,
  CommonTlsContext,
  DownstreamTlsContext,
  TlsParameters,
  TlsParameters_TlsProtocol,
  TransportSocket,
} from './envoy-types/index.js';
import { sanMatchers } from './tls-context.js';
import { TYPE } from './type-urls.js';

const VERSION: Record<TlsProtocolVersion, TlsParameters_TlsProtocol> = {
  TLS_AUTO: 'TLS_AUTO',
  TLSV1_0: 'TLSv1_0',
  TLSV1_1: 'TLSv1_1',
  TLSV1_2: 'TLSv1_2',
  TLSV1_3: 'TLSv1_3',
};

export function gatewayServerSocket(
  tls: ServerTlsSettings,
  secrets: ServerSecrets,
  http: boolean,
  trustDomains: readonly string[],
): TransportSocket {
  const params: TlsParameters = {
    tls_minimum_protocol_version: VERSION[tls.minProtocolVersion ?? 'TLSV1_2'],
    tls_maximum_protocol_version: VERSION[tls.maxProtocolVersion ?? 'TLSV1_3'],
  };
  if (tls.cipherSuites.length > 0) params.cipher_suites = [...tls.cipherSuites];
  const common: CommonTlsContext = { tls_params: params };
  if (http) common.alpn_protocols = ['h2', 'http/1.1'];
  const istio = tls.mode === 'ISTIO_MUTUAL';
  common.tls_certificate_sds_secret_configs = [sdsSecretConfig(secrets.certificate.name)];
  if (secrets.validation) {
    const defaults: CertificateValidationContext = {};

    if (istio)
      defaults.match_typed_subject_alt_names = sanMatchers(
        trustDomains.map((td) => `spiffe://${td}/`),
        'prefix',
      );
    else if (tls.subjectAltNames.length > 0) defaults.match_typed_subject_alt_names = sanMatchers([...tls.subjectAltNames].sort());
    common.combined_validation_context = {
      default_validation_context: defaults,
      validation_context_sds_secret_config: sdsSecretConfig(secrets.validation.name),
    };
  }
  const context: DownstreamTlsContext = { common_tls_context: common };
  if (tls.mode === 'MUTUAL' || istio) context.require_client_certificate = true;
  return { name: 'envoy.transport_sockets.tls', typed_config: typed(TYPE.downstreamTlsContext, context) };
}
