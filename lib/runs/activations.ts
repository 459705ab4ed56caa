// The fusion activation analysis of the paper (Fig. 4/6): the fusion softmax weights of each
// layer, averaged over every real token of a split.
import type { BertModel } from '../model/bert-model.js';
import { batches, collate, isMultipleChoice, type TrainingExample } from '../trainer/batching.js';
import type { FusionActivations, SetupId } from './record.js';

export async function meanFusionActivations(
  model: BertModel,
  examples: readonly TrainingExample[],
  meta: { task: string; setup: SetupId; seed: number; split: string; adapters: string[]; batchSize: number },
): Promise<FusionActivations> {
  const layers = model.config.numHiddenLayers;
  const N = meta.adapters.length;
  const sums: (Float64Array | null)[] = Array.from({ length: layers }, () => null);
  let tokens = 0;
  for (const items of batches(examples, meta.batchSize)) {
    const batch = collate(items, { padTokenId: model.config.padTokenId, regression: false });
    const { batchSize: B, seqLen: L, attentionMask } = batch.input;
    const out = await model.predict(batch.input, { outputFusionAttentions: true });
    const att = out.fusionAttentions ?? [];
    for (let row = 0; row < B; row++) {
      for (let pos = 0; pos < L; pos++) {
        if (attentionMask && attentionMask[row * L + pos] === 0) continue;
        tokens++;
        for (let layer = 0; layer < layers; layer++) {
          const a = att[layer];
          if (!a) continue;
          const s = (sums[layer] ??= new Float64Array(N));
          const base = (row * L + pos) * N;
          for (let n = 0; n < N; n++) s[n] += a[base + n];
        }
      }
    }
  }
  const rows = examples.reduce((k, e) => k + (isMultipleChoice(e) ? e.choices.length : 1), 0);
  return {
    task: meta.task,
    setup: meta.setup,
    seed: meta.seed,
    split: meta.split,
    examples: examples.length,
    tokens: rows > 0 ? tokens : 0,
    adapters: [...meta.adapters],
    layers: sums.map((s) => (s ? Array.from(s, (v) => v / tokens) : null)),
  };
}
