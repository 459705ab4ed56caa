// Evaluation metrics, computed in float64 with scikit-learn's / scipy's conventions:
// accuracy, F1 of the positive class, macro-F1, Matthews correlation, Pearson, Spearman, MSE.
import { InvalidArgumentError } from '../errors.js';

type Num = ArrayLike<number>;

function checkPair(a: Num, b: Num, what: string): number {
  if (a.length !== b.length) throw new InvalidArgumentError(`${what}: predictions have ${a.length} entries but labels have ${b.length}`);
  if (a.length === 0) throw new InvalidArgumentError(`${what}: no examples`);
  return a.length;
}

/** Index of the largest value of each row of a row-major [rows, classes] matrix (first one on ties). */
export function argmax(logits: Num, classes: number): Int32Array {
  const rows = Math.floor(logits.length / classes);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** Fraction of predictions equal to the labels. */
export function accuracy(predictions: Num, labels: Num): number {
  const n = checkPair(predictions, labels, 'accuracy');
  let hits = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === labels[i]) hits++;
  return hits / n;
}

function classCounts(p: Num, y: Num, cls: number): { tp: number; fp: number; fn: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === cls && y[i] === cls) tp++;
    else if (p[i] === cls) fp++;
    else if (y[i] === cls) fn++;
  }
  return { tp, fp, fn };
}

function f1Of(c: { tp: number; fp: number; fn: number }): number {
  // 2·P·R/(P+R) = 2tp / (2tp + fp + fn); 0 when undefined (sklearn's zero_division=0).
  const d = 2 * c.tp + c.fp + c.fn;
  return d === 0 ? 0 : (2 * c.tp) / d;
}

/** F1 of one class (default 1, the positive class of MRPC / QQP), as sklearn f1_score(average='binary'). */
export function f1(predictions: Num, labels: Num, positive = 1): number {
  checkPair(predictions, labels, 'f1');
  return f1Of(classCounts(predictions, labels, positive));
}

/**
 * Unweighted mean of the per-class F1 (sklearn average='macro'): over classes 0..numClasses-1
 * when numClasses is given, else over the classes present in labels or predictions.
 */
export function macroF1(predictions: Num, labels: Num, numClasses?: number): number {
  const n = checkPair(predictions, labels, 'macroF1');
  let classes: number[];
  if (numClasses !== undefined) classes = Array.from({ length: numClasses }, (_, i) => i);
  else {
    const set = new Set<number>();
    for (let i = 0; i < n; i++) set.add(predictions[i]).add(labels[i]);
    classes = [...set];
  }
  let sum = 0;
  for (const c of classes) sum += f1Of(classCounts(predictions, labels, c));
  return sum / classes.length;
}

/**
 * Matthews correlation coefficient (multi-class form, as sklearn matthews_corrcoef; the phi
 * coefficient for two classes); 0 when undefined.
 */
export function matthewsCorrelation(predictions: Num, labels: Num): number {
  const n = checkPair(predictions, labels, 'matthewsCorrelation');
  const t = new Map<number, number>();
  const p = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    t.set(labels[i], (t.get(labels[i]) ?? 0) + 1);
    p.set(predictions[i], (p.get(predictions[i]) ?? 0) + 1);
    if (predictions[i] === labels[i]) correct++;
  }
  let tp = 0;
  for (const [k, tk] of t) tp += tk * (p.get(k) ?? 0);
  let pp = 0;
  for (const v of p.values()) pp += v * v;
  let tt = 0;
  for (const v of t.values()) tt += v * v;
  const num = correct * n - tp;
  const den = (n * n - pp) * (n * n - tt);
  return den === 0 ? 0 : num / Math.sqrt(den);
}

/** Pearson's r (scipy.stats.pearsonr); NaN when either input is constant. */
export function pearson(x: Num, y: Num): number {
  const n = checkPair(x, y, 'pearson');
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Ranks 1..n, ties getting the mean of their ranks (scipy.stats.rankdata 'average'). */
export function ranks(x: Num): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b] || a - b);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]] === x[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]] = r;
    i = j + 1;
  }
  return out;
}

/** Spearman's rho: Pearson's r of the (tie-averaged) ranks, as scipy.stats.spearmanr. */
export function spearman(x: Num, y: Num): number {
  checkPair(x, y, 'spearman');
  return pearson(ranks(x), ranks(y));
}

/** Mean squared error. */
export function meanSquaredError(predictions: Num, targets: Num): number {
  const n = checkPair(predictions, targets, 'meanSquaredError');
  let s = 0;
  for (let i = 0; i < n; i++) s += (predictions[i] - targets[i]) ** 2;
  return s / n;
}

/** Mean cross-entropy of row-major logits [rows, classes] against class ids (log-sum-exp in float64). */
export function crossEntropy(logits: Num, classes: number, labels: Num): number {
  const rows = labels.length;
  if (logits.length !== rows * classes) throw new InvalidArgumentError(`crossEntropy: ${logits.length} logits for ${rows} rows of ${classes} classes`);
  let s = 0;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, logits[r * classes + c]);
    let z = 0;
    for (let c = 0; c < classes; c++) z += Math.exp(logits[r * classes + c] - m);
    s += m + Math.log(z) - logits[r * classes + labels[r]];
  }
  return s / rows;
}

/** Every metric name the harness computes. */
export type MetricName = 'loss' | 'accuracy' | 'f1' | 'macroF1' | 'mcc' | 'pearson' | 'spearman' | 'mse';

/** Metrics of one evaluation; which keys are present depends on the head (see computeMetrics). */
export interface Metrics {
  loss?: number;
  accuracy?: number;
  /** F1 of class 1 (two-class tasks only). */
  f1?: number;
  macroF1?: number;
  mcc?: number;
  pearson?: number;
  spearman?: number;
  mse?: number;
  /** Examples evaluated. */
  examples?: number;
  [name: string]: number | undefined;
}

/**
 * All metrics for a head's outputs: classification → loss (cross-entropy), accuracy, macroF1,
 * mcc and, with two classes, f1 (of class 1); multiple choice → loss, accuracy; regression
 * (logits = predictions) → loss (MSE), mse, pearson, spearman.
 */
export function computeMetrics(kind: 'classification' | 'regression' | 'multiple_choice', logits: Num, classes: number, labels: Num): Metrics {
  const n = labels.length;
  if (kind === 'regression') {
    const mse = meanSquaredError(logits, labels);
    return { loss: mse, mse, pearson: pearson(logits, labels), spearman: spearman(logits, labels), examples: n };
  }
  const pred = argmax(logits, classes);
  const m: Metrics = { loss: crossEntropy(logits, classes, labels), accuracy: accuracy(pred, labels) };
  if (kind === 'classification') {
    if (classes === 2) m.f1 = f1(pred, labels, 1);
    m.macroF1 = macroF1(pred, labels);
    m.mcc = matthewsCorrelation(pred, labels);
  }
  m.examples = n;
  return m;
}
