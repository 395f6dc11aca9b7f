// The dashboard's predicted reachability matrix: computed once per config
// model (the prediction translates every sidecar), then reused while the
// page polls.
import type { PredictedMatrix } from '../inspect/matrix-types.js';
import { predictMatrix, translatedMatrixInput } from '../inspect/matrix-prediction.js';
import type { MeshModel } from '../model/mesh-model.js';

export function dashboardMatrix(currentModel: () => MeshModel | undefined): () => PredictedMatrix | undefined {
  let last: { model: MeshModel; matrix: PredictedMatrix | undefined } | undefined;
  return () => {
    const model = currentModel();
    if (!model) return undefined;
    if (last?.model !== model) {
      let matrix: PredictedMatrix | undefined;
      try {
        matrix = predictMatrix(translatedMatrixInput(model));
      } catch {
        // A prediction that fails shows as none; the dashboard and the admin server stay up.
        matrix = undefined;
      }
      last = { model, matrix };
    }
    return last.matrix;
  };
}
