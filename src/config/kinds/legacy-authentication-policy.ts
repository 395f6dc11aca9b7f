// Istio 1.0-era `authentication.istio.io/v1alpha1` Policy and MeshPolicy,
// converted on read into PeerAuthentication with the same meaning:
// `peers: [{mtls: {}}]` (or a null mtls) is STRICT, `mtls.mode: PERMISSIVE`
// (or peerIsOptional) is PERMISSIVE, and no peers at all means plaintext.
// End-user `origins` are converted too (legacy-jwt-origins.ts).
import { anything, bool, int, list, obj, oneOf, port, str, type Schema } from '../schema.js';
import type { MtlsMode, PeerAuthentication } from '../types.js';
import type { BuildContext, KindHandler, LoadedResource } from './kind-handler.js';
import { convertOrigins, LEGACY_ORIGIN } from './legacy-jwt-origins.js';

const POLICY_SPEC: Schema = obj({
  targets: list(
    obj({ name: str({ nonEmpty: true }), ports: list(obj({ number: port(), name: str() })), labels: anything() }, { required: ['name'] }),
  ),
  peers: list(obj({ mtls: obj({ mode: oneOf('STRICT', 'PERMISSIVE'), allowTls: bool() }, { nullable: true }), jwt: anything() })),
  peerIsOptional: bool(),
  origins: list(LEGACY_ORIGIN),
  originIsOptional: bool(),
  principalBinding: oneOf('USE_PEER', 'USE_ORIGIN'),
  weight: int(),
});

function peerMode(spec: Record<string, unknown>, ctx: BuildContext): MtlsMode {
  const peers = (spec.peers ?? []) as Record<string, unknown>[];
  let mode: MtlsMode = 'DISABLE';
  peers.forEach((peer, i) => {
    if (peer.jwt !== undefined) ctx.report(['spec', 'peers', i, 'jwt'], 'peer JWT authentication is not supported');
    if ('mtls' in peer) {
      const mtls = (peer.mtls ?? {}) as { mode?: string };
      mode = mtls.mode === 'PERMISSIVE' || spec.peerIsOptional === true ? 'PERMISSIVE' : 'STRICT';
    }
  });
  return mode;
}

function convert(spec: Record<string, unknown>, ctx: BuildContext, namespace: string): LoadedResource[] {
  return [...convertPeers(spec, ctx, namespace), ...convertOrigins(spec, ctx, namespace)];
}

function convertPeers(spec: Record<string, unknown>, ctx: BuildContext, namespace: string): PeerAuthentication[] {
  const mode = peerMode(spec, ctx);
  const meta = { ...ctx.meta, namespace };
  const targets = (spec.targets ?? []) as { name: string; ports?: { number?: number; name?: string }[] }[];
  if (targets.length === 0) {
    return [
      {
        kind: 'PeerAuthentication',
        meta,
        source: ctx.source,
        spec: { mtlsMode: mode, portLevelMtls: new Map(), legacy: { portsAreServicePorts: true } },
      },
    ];
  }
  return targets.map((target, targetIndex) => {
    const ports = target.ports ?? [];
    const portLevelMtls = new Map<number, MtlsMode>();
    ports.forEach((p, i) => {
      if (p.number === undefined) ctx.report(['spec', 'targets', targetIndex, 'ports', i], 'only numbered ports are supported');
      else portLevelMtls.set(p.number, mode);
    });
    return {
      kind: 'PeerAuthentication' as const,
      meta,
      source: ctx.source,
      spec: {
        mtlsMode: ports.length > 0 ? ('UNSET' as const) : mode,
        portLevelMtls,
        legacy: { targetService: target.name, portsAreServicePorts: true },
      },
    };
  });
}

export const legacyPolicy: KindHandler = {
  group: 'authentication.istio.io',
  versions: ['v1alpha1'],
  kind: 'Policy',
  specSchema: POLICY_SPEC,
  build: (spec, ctx) => convert(spec, ctx, ctx.meta.namespace),
};

export const legacyMeshPolicy: KindHandler = {
  group: 'authentication.istio.io',
  versions: ['v1alpha1'],
  kind: 'MeshPolicy',
  clusterScoped: true,
  specSchema: POLICY_SPEC,
  build(spec, ctx) {
    if (ctx.meta.name !== 'default') ctx.report(['metadata', 'name'], 'a MeshPolicy must be named "default"');
    if (Array.isArray(spec.targets) && spec.targets.length > 0)
      ctx.report(['spec', 'targets'], 'a MeshPolicy applies to the whole mesh and takes no targets');
    return convert({ ...spec, targets: [] }, ctx, ctx.rootNamespace);
  },
};
