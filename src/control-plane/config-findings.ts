// The findings of `meshlite analyze` on each config the control plane
// applies: those the config-loading worker found (placed at their fields),
// or, for a load that came without them, found here (placed at the first
// line of their resource). Advice only: they never stop a config from being
// applied, and a failure here is logged, never thrown.
import { analyzeConfig } from '../analyze/analyze-config.js';
import { countBySeverity } from '../analyze/finding.js';
import type { ConfigFinding, FindingSeverity } from '../config/config-status.js';
import type { ConfigSet } from '../config/types.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Logger } from '../util/logger.js';

export function analyzeApplied(
  loaded: readonly ConfigFinding[] | undefined,
  config: ConfigSet,
  model: MeshModel,
  logger: Logger,
  hooks: { configAnalyzed?(counts: Readonly<Record<FindingSeverity, number>>): void },
): readonly ConfigFinding[] {
  try {
    const findings = loaded ?? analyzeConfig(config, { model });
    const counts = countBySeverity(findings);
    if (findings.length > 0) logger.info({ ...counts }, 'config analyzed: see /debug/configz or meshlite analyze for the findings');
    hooks.configAnalyzed?.(counts);
    return findings;
  } catch (err) {
    logger.warn({ err: String(err) }, 'config analysis failed; the config is served all the same');
    return [];
  }
}
