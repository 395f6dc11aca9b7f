// Dry-run AuthorizationPolicies against real Envoy: a static bootstrap whose
// HCMs hold exactly what authzFilters returns (the RBAC slots, filled per
// virtual host the way RDS fills them) and whose TCP chain holds its network
// filters. A dry-run policy never decides anything, yet Envoy evaluates it and
// counts the decision it would have taken under Istio's stat prefixes.
import { connect } from 'node:net';

import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationAction, AuthorizationPolicy, AuthzRule } from '../../src/config/authz-types.js';
import type { AuthzView } from '../../src/model/view-types.js';
import { authzFilters } from '../../src/xds/authz-filters.js';
import type { Envoy } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { authz } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';
import { authzHttpListener, startAppEnvoy } from '../support/authz-http-listener.js';

type Obj = Record<string, any>;
const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const LOOPBACK = loopbackAddress('xds/authz-dry-run-envoy.test.ts');
const APP_PORT = 8000;
const PORTS = { dryDeny: 10000, dryAllow: 10001, mixed: 10002, enforced: 10003, tcp: 10004 } as const;

const policy = (name: string, action: AuthorizationAction, rules: AuthzRule[], dryRun: boolean): AuthorizationPolicy =>
  authz.policy(`foo/${name}`, { action, rules, ...(dryRun ? { dryRun: true as const } : {}) });
const paths = (...requestPaths: string[]) => authz.rule({ to: [authz.operation({ paths: requestPaths })] });
const ports = (...listenerPorts: number[]) => authz.rule({ to: [authz.operation({ ports: listenerPorts.map(String) })] });

function view(policies: AuthorizationPolicy[]): AuthzView {
  return {
    key: 'test',
    authorizationPolicies: policies,
    requestAuthentications: [],
    trustDomains: ['cluster.local'],
    providers: [],
    jwks: {},
  };
}

function httpListener(name: string, port: number, policies: AuthorizationPolicy[]): Obj {
  const built = authzFilters(view(policies));
  assert.equal(built.warnings.http, [], name);
  return authzHttpListener(name, LOOPBACK, port, built);
}

function tcpListener(name: string, port: number, policies: AuthorizationPolicy[]): Obj {
  const built = authzFilters(view(policies));
  const tcpProxy = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: name,
      cluster: 'app',
    },
  };
  return {
    name,
    address: { socket_address: { address: LOOPBACK, port_value: port } },
    filter_chains: [{ filters: [...built.tcp, tcpProxy] }],
  };
}

async function status(port: number, path: string): Promise<number> {
  const res = await fetch(`http://${LOOPBACK}:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  await res.text();
  return res.status;
}

/** An HTTP request over a raw TCP connection: the response's status line, or `closed` when the proxy drops the connection. */
function overTcp(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, LOOPBACK);
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer on ${port}`)));
    socket.on('connect', () => socket.write('GET /ip HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d) => (data += d));
    socket.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(data.split('\r\n')[0] || 'closed') : reject(err),
    );
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'closed'));
  });
}

/** Every counter Envoy keeps whose name mentions dry_run, as name -> value. */
async function dryRunStats(envoy: Envoy): Promise<Record<string, number>> {
  const text = await envoy.get('/stats?filter=dry_run');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+): (\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

test('real Envoy: dry-run DENY and ALLOW never deny, and Envoy counts what they would have done', async () => {
  await withProcesses('authz-dry-run', async (pm) => {
    const app = pm.start('httpbin', process.execPath, [HTTPBIN, LOOPBACK, String(APP_PORT)]);
    await app.waitForLog(/httpbin listening/);
    const envoy = await startAppEnvoy(pm, 'authz-dry-run', {
      address: LOOPBACK,
      app: { address: LOOPBACK, port: APP_PORT },
      listeners: [
        httpListener('dryDeny', PORTS.dryDeny, [policy('no-headers', 'DENY', [paths('/headers')], true)]),
        httpListener('dryAllow', PORTS.dryAllow, [policy('only-ip', 'ALLOW', [paths('/ip')], true)]),
        httpListener('mixed', PORTS.mixed, [
          policy('no-status', 'DENY', [paths('/status/*')], false),
          policy('no-headers', 'DENY', [paths('/headers')], true),
        ]),
        // The same DENY enforced: proves the requests below would be refused without the annotation.
        httpListener('enforced', PORTS.enforced, [policy('no-headers', 'DENY', [paths('/headers')], false)]),
        tcpListener('tcp', PORTS.tcp, [policy('no-tcp', 'DENY', [ports(PORTS.tcp)], true)]),
      ],
    });

    assert.is(await status(PORTS.enforced, '/headers'), 403, 'the enforced DENY refuses /headers');

    // Dry-run DENY: the matching request passes, counted as a would-be denial.
    assert.is(await status(PORTS.dryDeny, '/headers'), 200);
    assert.is(await status(PORTS.dryDeny, '/headers'), 200);
    assert.is(await status(PORTS.dryDeny, '/ip'), 200);
    // Dry-run ALLOW of /ip only: /headers would be denied (no rule matches), and is not.
    assert.is(await status(PORTS.dryAllow, '/headers'), 200);
    assert.is(await status(PORTS.dryAllow, '/ip'), 200);
    // Enforced and dry-run DENY on one filter: the enforced one still denies.
    assert.is(await status(PORTS.mixed, '/status/200'), 403, 'the enforced DENY of the same action still applies');
    assert.is(await status(PORTS.mixed, '/headers'), 200, 'the dry-run DENY does not');
    // TCP: the dry-run DENY of this port lets the connection through.
    assert.match(await overTcp(PORTS.tcp), /^HTTP\/1\.1 200/);

    // Envoy joins the shadow prefix and the counter with a dot: `<prefix>.shadow_denied`.
    const stats = await dryRunStats(envoy);
    assert.equal(
      Object.fromEntries(Object.entries(stats).filter(([, v]) => v > 0)),
      {
        'http.dryDeny.rbac.istio_dry_run_deny_.shadow_denied': 2,
        'http.dryDeny.rbac.istio_dry_run_deny_.shadow_allowed': 1,
        'http.dryAllow.rbac.istio_dry_run_allow_.shadow_denied': 1,
        'http.dryAllow.rbac.istio_dry_run_allow_.shadow_allowed': 1,
        // The shadow rules are evaluated before the enforced ones: the refused /status/200 counts as shadow_allowed.
        'http.mixed.rbac.istio_dry_run_deny_.shadow_denied': 1,
        'http.mixed.rbac.istio_dry_run_deny_.shadow_allowed': 1,
        'tcp.rbac.istio_dry_run_deny_.shadow_denied': 1,
      },
      JSON.stringify(stats, null, 2),
    );
  });
});

test.run();
