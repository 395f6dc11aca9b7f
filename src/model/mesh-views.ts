// Views of one mesh model, per proxy. The parts that depend only on a proxy's
// namespace (its outbound side, a proxyless client's targets) are computed once
// per namespace and shared (a sidecar under a Sidecar resource shares its view
// with the proxies under the same one): this object owns those caches, so it
// lives exactly as long as the model it was made for.
import { buildGatewayView } from './gateway-view.js';
import type { Sidecar } from '../config/sidecar-types.js';
import type { MeshModel } from './mesh-model.js';
import { computeOutbound, OutboundClusterMemo } from './outbound-view.js';
import { endpointAccepts } from './proxyless-tls.js';
import { PROXYLESS_GRPC_ANNOTATION, proxyKind } from './proxy-kind.js';
import { buildSidecarView } from './proxy-view.js';
import { buildProxylessView, proxylessTargets } from './proxyless-view.js';
import type { Workload } from './registry.js';
import { outboundScope, sidecarsByNamespace } from './sidecar-scope.js';
import type { OutboundView, ProxylessTargets, ProxyView } from './view-types.js';

export type ViewResult = { ok: true; view: ProxyView; workload: Workload } | { ok: false; error: string };

export interface ViewOptions {
  /**
   * Proxyless apps run under `meshlite agent --grpc` and have certificates:
   * their clusters and STRICT server ports use mTLS (default). Off for
   * `meshlite serve --insecure`, where no certificates exist.
   */
  proxylessSecurity?: boolean;
}

/** Whether each endpoint of each service port takes mTLS, as the outbound side decides it. */
function endpointMtls(model: MeshModel, secure: boolean): string {
  const out: string[] = [];
  for (const service of model.registry.services)
    for (const port of service.ports)
      out.push(
        `${service.host}:${port.number}=${service.endpoints.map((e) => (endpointAccepts(model, e, port, secure) === 'plaintext' ? 0 : 1)).join('')}`,
      );
  return out.join(' ');
}

export class MeshViews {
  private readonly outbound = new Map<string, OutboundView>();
  private readonly proxyless = new Map<string, ProxylessTargets>();
  private readonly scoped = new Map<string, OutboundView>();
  private readonly clusters = new OutboundClusterMemo();
  private readonly sidecars: ReadonlyMap<string, readonly Sidecar[]>;
  private readonly proxylessSecurity: boolean;

  /**
   * `previous`: the views of the last model, when the caller knows the two
   * configs differ at most in peer and access policies (see
   * control-plane/translation-reuse.ts). Outbound views depend on those only
   * through whether each endpoint takes mTLS: where that is unchanged too,
   * the previous outbound views are taken over (same objects, so what was
   * built from them is reused as well). `reused` says whether they were.
   */
  readonly reused: boolean;

  constructor(
    readonly model: MeshModel,
    options: ViewOptions = {},
    previous?: MeshViews,
  ) {
    this.proxylessSecurity = options.proxylessSecurity ?? true;
    this.sidecars = sidecarsByNamespace(model.config.sidecars);
    this.reused =
      previous !== undefined &&
      previous.proxylessSecurity === this.proxylessSecurity &&
      endpointMtls(previous.model, this.proxylessSecurity) === endpointMtls(model, this.proxylessSecurity);
    if (this.reused && previous) {
      for (const [k, v] of previous.outbound) this.outbound.set(k, v);
      for (const [k, v] of previous.scoped) this.scoped.set(k, v);
    }
  }

  /** A sidecar's outbound side: its namespace's, narrowed by the Sidecar resource that applies to it (shared per Sidecar). */
  outboundOfSidecar(workload: Workload): OutboundView {
    const scope = outboundScope(this.sidecars, workload, this.model.mesh.rootNamespace);
    if (!scope) return this.outboundFor(workload.namespace);
    let view = this.scoped.get(scope.key);
    if (!view)
      this.scoped.set(scope.key, (view = computeOutbound(this.model, workload.namespace, this.proxylessSecurity, scope, this.clusters)));
    return view;
  }

  /** The outbound side of clients in `namespace`. */
  outboundFor(namespace: string): OutboundView {
    let view = this.outbound.get(namespace);
    if (!view)
      this.outbound.set(namespace, (view = computeOutbound(this.model, namespace, this.proxylessSecurity, undefined, this.clusters)));
    return view;
  }

  /** What proxyless clients in `namespace` can reach. */
  proxylessFor(namespace: string): ProxylessTargets {
    let targets = this.proxyless.get(namespace);
    if (!targets) {
      const outbound = this.proxylessSecurity ? this.outboundFor(namespace) : undefined;
      this.proxyless.set(namespace, (targets = proxylessTargets(this.model, namespace, outbound)));
    }
    return targets;
  }

  /** The view of the proxy `proxyId` serves: sidecar, gateway or proxyless, as its workload decides. */
  view(proxyId: string): ViewResult {
    const workload = this.model.registry.workload(proxyId);
    if (!workload) return { ok: false, error: `no workload "${proxyId}" (expected <name>.<namespace> of a WorkloadEntry)` };
    const kind = proxyKind(this.model, workload);
    switch (kind) {
      case 'proxyless':
        return {
          ok: true,
          workload,
          view: buildProxylessView(this.model, workload, this.proxylessFor(workload.namespace), this.proxylessSecurity),
        };
      case 'gateway':
        return { ok: true, workload, view: buildGatewayView(this.model, workload, this.outboundFor(workload.namespace)) };
      case 'sidecar':
        return { ok: true, workload, view: buildSidecarView(this.model, workload, this.outboundOfSidecar(workload)) };
      case undefined:
        return {
          ok: false,
          error: `workload "${proxyId}" runs no sidecar (label security.istio.io/tlsMode: istio), no Gateway selects it, and it is not proxyless (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true")`,
        };
    }
  }
}
