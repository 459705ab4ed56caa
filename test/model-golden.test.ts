// The public model API against Hugging Face transformers: tiny odd-shaped BERTs (hidden
// states within 1e-5, gradients of the inputs and every weight within 1e-4), on each GEMM
// provider compiled in.
import test from 'ava';
import { join } from 'node:path';
import { backendInfo, loadModel } from '../lib/index.js';
import { fixturesDir } from './helpers/paths.js';
import { loadGolden } from './helpers/golden.js';
import { maxRelError, rms } from './helpers/compare.js';

const cases = ['tiny-a', 'tiny-b', 'tiny-f16', 'tiny-bf16'];
const providers = backendInfo().openblas ? (['builtin', 'openblas'] as const) : (['builtin'] as const);

for (const name of cases) {
  for (const gemm of providers) {
    test(`${name} (${gemm} GEMM): hidden states and all gradients match transformers`, async (t) => {
      const dir = join(fixturesDir, 'bert', name);
      const golden = await loadGolden(join(dir, 'golden.safetensors'));
      const model = await loadModel(dir, { gemm });
      try {
        const [B, L] = golden.get('input_ids').shape;
        const input = {
          inputIds: golden.get('input_ids').data as Int32Array,
          tokenTypeIds: golden.get('token_type_ids').data as Int32Array,
          attentionMask: golden.get('attention_mask').data as Int32Array,
          batchSize: B,
          seqLen: L,
        };
        const out = await model.forward(input, { outputHiddenStates: true });
        t.is(out.hiddenStates!.length, model.config.numHiddenLayers + 1);
        out.hiddenStates!.forEach((h, i) => {
          const e = maxRelError(h, golden.get(`hidden_states.${i}`).data as Float32Array);
          t.true(e <= 1e-5, `hidden_states.${i}: rel error ${e}`);
        });
        const eLast = maxRelError(out.lastHiddenState, golden.get('last_hidden_state').data as Float32Array);
        t.true(eLast <= 1e-5, `last_hidden_state: rel error ${eLast}`);

        await model.setTrainable('all');
        await model.forward(input, { keepActivations: true });
        const { inputsEmbeds } = await model.backward(golden.get('grad_output').data as Float32Array, { inputGrad: true });
        const wantInput = golden.get('grad.inputs_embeds').data as Float32Array;
        const eIn = maxRelError(inputsEmbeds!, wantInput);
        t.true(eIn <= 1e-4, `grad.inputs_embeds: rel error ${eIn}`);
        // Gradients that are zero up to round-off (key biases) compare against 10% of the
        // typical gradient magnitude.
        const floor = 0.1 * rms(wantInput);
        for (const p of model.parameters()) {
          const e = maxRelError(await model.getGradient(p.name), golden.get(`grad.${p.name}`).data as Float32Array, floor);
          t.true(e <= 1e-4, `grad.${p.name}: rel error ${e}`);
        }
      } finally {
        model.dispose();
      }
    });
  }
}

test('gradients accumulate across backward calls until zeroGrad', async (t) => {
  const dir = join(fixturesDir, 'bert', 'tiny-a');
  const golden = await loadGolden(join(dir, 'golden.safetensors'));
  const model = await loadModel(dir);
  const [B, L] = golden.get('input_ids').shape;
  const input = {
    inputIds: golden.get('input_ids').data as Int32Array,
    attentionMask: golden.get('attention_mask').data as Int32Array,
    tokenTypeIds: golden.get('token_type_ids').data as Int32Array,
    batchSize: B,
    seqLen: L,
  };
  const gradOut = golden.get('grad_output').data as Float32Array;
  await model.setTrainable(['encoder.layer.1.output.dense.*']);
  await model.forward(input, { keepActivations: true });
  await model.backward(gradOut);
  const once = await model.getGradient('encoder.layer.1.output.dense.weight');
  await model.backward(gradOut);
  const twice = await model.getGradient('encoder.layer.1.output.dense.weight');
  t.true(maxRelError(twice, once.map((v) => 2 * v)) < 1e-6);
  await model.zeroGrad();
  t.true((await model.getGradient('encoder.layer.1.output.dense.weight')).every((v) => v === 0));
  await t.throwsAsync(model.getGradient('encoder.layer.0.output.dense.weight'), { code: 'ERR_AF_INVALID_ARGUMENT' });
  model.dispose();
});
