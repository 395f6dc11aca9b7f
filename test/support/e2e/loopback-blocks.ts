// Fixed loopback addresses for the test files that run their own Envoy from a
// static bootstrap. Each file owns a block 127.<octet>.0.0/16 that no other
// test file uses (test/loopback-blocks.test.ts checks), above the blocks
// config-dir.ts hands to e2e runs, so its fixed ports are free while it runs.
// A port the kernel picks and then releases is not: another file running at
// the same time can take it before the test binds it.
export const LOOPBACK_BLOCKS = {
  'xds/jwt-authn.test.ts': 60,
  'xds/ext-authz-envoy.test.ts': 61,
  'agent/sds-envoy.test.ts': 62,
  'agent/envoy-supervisor.test.ts': 64,
  'agent/ads-relay-envoy.test.ts': 63,
  'server/root-rotation-envoy.test.ts': 65,
  'agent/agent-grpc.test.ts': 66,
  'e2e/proxyless-mtls.test.ts': 67,
  // etcd members listen on 127.<block>.9.x (test/support/etcd.ts).
  'store/store-config-source.test.ts': 68,
  'cli/apply.test.ts': 69,
  'store/store-identity.test.ts': 70,
  'store/replica-registry.test.ts': 71,
  'e2e/replicas-failover.test.ts': 72,
  'e2e/store-outage.test.ts': 73,
  'store/etcd-store.test.ts': 74,
  'server/replica-failover-envoy.test.ts': 75,
  'agent/agent-failover.test.ts': 76,
  'cli/store-commands.test.ts': 77,
  'store/store-tls.test.ts': 78,
  'xds/retry-policy-envoy.test.ts': 81,
  'xds/authz-dry-run-envoy.test.ts': 80,
  'xds/authz-fields-envoy.test.ts': 82,
  'cli/namespace-flag.test.ts': 79,
  'xds/health-probes-envoy.test.ts': 86,
  'xds/jwt-fields-envoy.test.ts': 83,
  'xds/sidecar-scope-envoy.test.ts': 85,
  // A Marathon API stand-in on 127.87.0.1.
  'control-plane/marathon-registry.test.ts': 87,
  'e2e/marathon-mesh.test.ts': 88,
  'xds/access-log-envoy.test.ts': 92,
  'cli/inspect-live.test.ts': 90,
  'analyze/analyze-claims-envoy.test.ts': 93,
  'inspect/rbac-evaluator-envoy.test.ts': 89,
  'admin/dashboard-browser.test.ts': 91,
  // examples/first-mesh spells these addresses out (README walkthrough).
  'e2e/first-mesh.test.ts': 94,
} as const;

/** Files outside test/ that spell an owner's addresses out (an example a test runs as it is). */
export const BLOCK_EXAMPLES: Partial<Record<keyof typeof LOOPBACK_BLOCKS, readonly string[]>> = {
  'e2e/first-mesh.test.ts': ['examples/first-mesh/'],
};

export type BlockOwner = keyof typeof LOOPBACK_BLOCKS;

/** An address in the block of `owner` (a test file's path under test/). */
export function loopbackAddress(owner: BlockOwner, host = 1): string {
  return `127.${LOOPBACK_BLOCKS[owner]}.0.${host}`;
}
