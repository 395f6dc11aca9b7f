// Acceptance regions for random splits (Envoy's weighted_clusters picks a
// cluster per request with a uniform random number, so the count sent to
// one side of n requests is Binomial(n, p)).

export interface BinomialRegion {
  n: number;
  p: number;
  /** Two-sided probability of a correct split falling outside [lo, hi]. */
  alpha: number;
  /** Smallest and largest accepted count. */
  lo: number;
  hi: number;
  /** lo/n and hi/n. */
  loShare: number;
  hiShare: number;
}

function logFactorials(n: number): number[] {
  const out = [0];
  for (let i = 1; i <= n; i++) out.push(out[i - 1]! + Math.log(i));
  return out;
}

/**
 * The central region [lo, hi] of Binomial(n, p) with P(X < lo) <= alpha/2 and
 * P(X > hi) <= alpha/2, computed exactly (log-space pmf), so a test that
 * asserts `lo <= count <= hi` fails by chance with probability <= alpha.
 */
export function binomialRegion(n: number, p: number, alpha: number): BinomialRegion {
  if (!(p > 0 && p < 1) || n < 1) throw new Error(`binomialRegion: need n >= 1 and 0 < p < 1 (n=${n}, p=${p})`);
  const lf = logFactorials(n);
  const pmf = (k: number) => Math.exp(lf[n]! - lf[k]! - lf[n - k]! + k * Math.log(p) + (n - k) * Math.log(1 - p));
  let lo = 0;
  for (let below = 0; lo < n && below + pmf(lo) <= alpha / 2; lo++) below += pmf(lo);
  let hi = n;
  for (let above = 0; hi > 0 && above + pmf(hi) <= alpha / 2; hi--) above += pmf(hi);
  return { n, p, alpha, lo, hi, loShare: lo / n, hiShare: hi / n };
}

export function describeRegion(r: BinomialRegion): string {
  return `Binomial(${r.n}, ${r.p}) accepts ${r.lo}..${r.hi} (share ${r.loShare.toFixed(3)}..${r.hiShare.toFixed(3)}, alpha ${r.alpha})`;
}
