// The dashboard's predicted reachability matrix: computed once per config
// model (the prediction translates every sidecar), then reused while the
// page polls. The prediction runs on serve's event loop, so a mesh with more
// sidecars than MAX_PREDICTED_SIDECARS is not predicted here (translating
// thousands of sidecars would hold up every ADS stream for seconds); the
// dashboard says so and `meshlite matrix --from/--to` answers offline.
import type { PredictedMatrix } from '../inspect/matrix-types.js';
import { predictMatrix, translatedMatrixInput } from '../inspect/matrix-prediction.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';

export const MAX_PREDICTED_SIDECARS = 40;

function tooLarge(model: MeshModel): PredictedMatrix | undefined {
  const sidecars = model.registry.workloads.filter((w) => proxyKind(model, w) === 'sidecar').length;
  if (sidecars <= MAX_PREDICTED_SIDECARS) return undefined;
  return {
    clients: [],
    services: [],
    cells: [],
    note: `not predicted here: ${sidecars} sidecars is more than the ${MAX_PREDICTED_SIDECARS} the admin server predicts without holding up serving; run meshlite matrix -c <dir> --from <clients> --to <services>`,
  };
}

export function dashboardMatrix(currentModel: () => MeshModel | undefined): () => PredictedMatrix | undefined {
  let last: { model: MeshModel; matrix: PredictedMatrix | undefined } | undefined;
  return () => {
    const model = currentModel();
    if (!model) return undefined;
    if (last?.model !== model) {
      let matrix: PredictedMatrix | undefined;
      try {
        matrix = tooLarge(model) ?? predictMatrix(translatedMatrixInput(model));
      } catch {
        // A prediction that fails shows as none; the dashboard and the admin server stay up.
        matrix = undefined;
      }
      last = { model, matrix };
    }
    return last.matrix;
  };
}
