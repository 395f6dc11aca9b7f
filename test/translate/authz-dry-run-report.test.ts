// How dry-run AuthorizationPolicies show: /debug/authorizationz (the report),
// `meshlite generate --type rbac` and `meshlite describe` on examples/authz-dry-run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizationReport } from '../../src/translate/authorization-report.js';
import { exampleMesh } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const meshlite = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });

test('the authorization report marks dry-run policies, and only them', () => {
  const result = authorizationReport(exampleMesh('authz-dry-run'), 'orders.shop');
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.equal(
    result.report.authorizationPolicies.map((p) => [p.policy, p.action, p.dryRun]),
    [
      ['shop/orders-from-shop', 'ALLOW', undefined],
      ['shop/orders-no-admin', 'DENY', true],
      ['shop/orders-read-only', 'ALLOW', true],
    ],
  );
  const deny = result.report.httpRbacPerRoute as Record<string, { rbac: Record<string, unknown> }>;
  assert.equal(Object.keys(deny['meshlite.rbac.deny']!.rbac), ['shadow_rules'], 'the dry-run DENY is only shadow rules');
  assert.equal(Object.keys(deny['meshlite.rbac.allow']!.rbac), ['rules', 'shadow_rules']);
});

test('generate --type rbac and describe show which policies are dry runs', () => {
  const generated = meshlite('generate', '-c', 'examples/authz-dry-run', '--proxy', 'ledger.shop', '--type', 'rbac');
  assert.is(generated.status, 0, generated.stderr);
  const report = JSON.parse(generated.stdout) as { authorizationPolicies: Record<string, unknown>[]; tcpFilters: unknown[] };
  assert.equal(report.authorizationPolicies, [
    {
      policy: 'shop/ledger-only-orders',
      action: 'DENY',
      dryRun: true,
      scope: 'workload',
      rules: 1,
      source: report.authorizationPolicies[0]!.source,
    },
  ] as unknown[]);
  assert.match(JSON.stringify(report.tcpFilters), '"shadow_rules_stat_prefix":"istio_dry_run_deny_"');

  const described = meshlite('describe', '-c', 'examples/authz-dry-run', '--proxy', 'orders.shop');
  assert.is(described.status, 0, described.stderr);
  const lines = described.stdout.split('\n').filter((l) => l.includes('authorization '));
  assert.equal(
    lines.map((l) => l.trim()),
    [
      'authorization ALLOW  shop/orders-from-shop  workload, 1 rule(s)',
      'authorization DENY [dry-run: not enforced]  shop/orders-no-admin  workload, 1 rule(s)',
      'authorization ALLOW [dry-run: not enforced]  shop/orders-read-only  workload, 2 rule(s)',
    ],
  );
});

test.run();
