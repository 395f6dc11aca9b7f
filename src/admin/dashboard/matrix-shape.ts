// The predicted reachability matrix as the dashboard renders it. Declared here
// by shape only: the predictor lives in a layer the admin server may not
// import, so the control plane hands its result over through AdminDeps.

/** An HTTP status a call would end with; `000` means no response at all, `?` that it cannot be predicted. */
export type CallOutcome = '200' | '403' | '503' | '000' | '?';

export interface MatrixCell {
  from: string;
  to: string;
  code: CallOutcome;
  mtls: boolean;
  identity?: string;
  reason: string;
}

export interface PredictedMatrix {
  clients: string[];
  services: string[];
  cells: MatrixCell[];
  /** Why there are no cells, when the prediction was not made. */
  note?: string;
}
