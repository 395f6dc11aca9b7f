// Runs every check on a loaded config. Pure: the same config gives the same
// findings in the same order. A check that throws becomes an Info finding
// naming it, so analysis never breaks a load or a command.
import type { ConfigSet } from '../config/types.js';
import type { MeshModel } from '../model/mesh-model.js';
import { type AnalysisContext, analysisContext } from './analysis-context.js';
import { checkGatewayPolicies, checkPolicyIdentities } from './authz-checks.js';
import { type FieldLocator, type Finding, placeFinding, type RawFinding, sortFindings } from './finding.js';
import { checkDestinationRuleHosts, checkGatewayHosts, checkSubsets, checkVirtualServiceHosts } from './host-checks.js';
import { checkPortLevelMtls, checkPortLevelSettings, checkStrictVersusClientTls } from './mtls-checks.js';
import { checkShadowedRoutes } from './route-checks.js';
import { checkSelectors } from './selector-checks.js';

export type Check = (ctx: AnalysisContext) => void;

export const CHECKS: Readonly<Record<string, Check>> = {
  'strict-vs-client-tls': checkStrictVersusClientTls,
  'port-level-mtls': checkPortLevelMtls,
  'port-level-settings': checkPortLevelSettings,
  selectors: checkSelectors,
  'destination-rule-hosts': checkDestinationRuleHosts,
  'virtual-service-hosts': checkVirtualServiceHosts,
  subsets: checkSubsets,
  'gateway-hosts': checkGatewayHosts,
  'policy-identities': checkPolicyIdentities,
  'gateway-policies': checkGatewayPolicies,
  'shadowed-routes': checkShadowedRoutes,
};

export interface AnalyzeOptions {
  /** Places findings at their field (file:line:column); without it, at the first line of their resource. */
  locate?: FieldLocator;
  /** The model built from this same config, when the caller has one (saves building it again). */
  model?: MeshModel;
  /** The checks to run (tests replace them); all of CHECKS by default. */
  checks?: Readonly<Record<string, Check>>;
}

export function analyzeConfig(config: ConfigSet, options: AnalyzeOptions = {}): Finding[] {
  const raw: RawFinding[] = [];
  const out: Finding[] = [];
  let ctx: AnalysisContext;
  try {
    ctx = analysisContext(config, (f) => raw.push(f), options.model);
  } catch (err) {
    return [checkFailed('model', err)];
  }
  for (const [name, check] of Object.entries(options.checks ?? CHECKS)) {
    const before = raw.length;
    try {
      check(ctx);
    } catch (err) {
      raw.length = before;
      out.push(checkFailed(name, err));
    }
  }
  for (const f of raw) {
    try {
      out.push(placeFinding(f, options.locate));
    } catch (err) {
      out.push(checkFailed(`locating ${f.code}`, err));
    }
  }
  return sortFindings(out);
}

function checkFailed(name: string, err: unknown): Finding {
  return {
    code: 'ML0901',
    severity: 'Info',
    kind: 'Config',
    namespace: '-',
    name: '-',
    file: '',
    line: 0,
    column: 0,
    field: '',
    message: `the check "${name}" could not run (${err instanceof Error ? err.message : String(err)}); its findings are missing. Please report this.`,
  };
}
