// What `meshlite matrix` predicts for the config a world runs, checked against
// what the e2e clients measured: the prediction must equal the measurement
// cell for cell, and a mismatch names the cell's reason.
import * as assert from 'uvu/assert';
import { formatIssue } from '../../../src/config/diagnostics.js';
import { loadMesh } from '../../../src/control-plane/load-mesh.js';
import { predictMatrix, translatedMatrixInput } from '../../../src/inspect/matrix-prediction.js';
import type { MatrixCell, PredictedMatrix } from '../../../src/inspect/matrix-types.js';
import { type Matrix, SERVICE_PORT } from './client.js';

/** The prediction for the config in `dir` (loaded as `meshlite serve` loads it). */
export function predictFor(dir: string, path = '/headers'): PredictedMatrix {
  const { result, model } = loadMesh([dir]);
  if (!result.ok || !model)
    throw new Error(`the config in ${dir} does not load: ${result.ok ? '' : result.issues.map(formatIssue).join('; ')}`);
  return predictMatrix(translatedMatrixInput(model), { path });
}

/** One measured call: `key` as the test names it, the client `<ns>/<name>` and the service `<host>:<port>`. */
export interface MeasuredCall {
  key: string;
  from: string;
  to: string;
  code: string;
}

/** The calls of a scenario matrix (`'foo->bar': code`): sleep.<from> calling httpbin.<to>:8000. */
export function sleepToHttpbin(measured: Matrix): MeasuredCall[] {
  return Object.entries(measured).map(([key, code]) => {
    const [from, to] = key.split('->');
    return { key, from: `${from}/sleep`, to: `httpbin.${to}.svc.cluster.local:${SERVICE_PORT}`, code };
  });
}

/** Fails unless the prediction for `dir` has exactly the measured code in every measured cell. */
export function assertPredicted(dir: string, calls: readonly MeasuredCall[], step: string, path = '/headers'): void {
  const predicted = predictFor(dir, path);
  const byKey = new Map<string, MatrixCell>(predicted.cells.map((c) => [`${c.from} ${c.to}`, c]));
  const wrong: string[] = [];
  for (const call of calls) {
    const cell = byKey.get(`${call.from} ${call.to}`);
    if (!cell) wrong.push(`${call.key}: no predicted cell for ${call.from} -> ${call.to}`);
    else if (cell.code !== call.code) wrong.push(`${call.key}: measured ${call.code}, predicted ${cell.code} because ${cell.reason}`);
  }
  assert.equal(wrong, [], `${step}: meshlite matrix predicted otherwise:\n${wrong.join('\n')}`);
}

/** assertPredicted for a measured 3x3 scenario matrix. */
export function assertMatrixPredicted(dir: string, measured: Matrix, step: string, path = '/headers'): void {
  assertPredicted(dir, sleepToHttpbin(measured), step, path);
}
