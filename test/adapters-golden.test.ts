// AdapterHub-saved files (fixtures/adapters/<case>/saved, saved-bin: written by the Python
// `adapters` 1.3 library) loaded through the public API — loadAdapter / loadHead /
// loadAdapterFusion — must reproduce AdapterHub's numbers: logits, fusion attentions, loss,
// the gradient of every trainable parameter and a 10-step AdamW trajectory (the same checks
// native/test/test_adapters.cpp makes in C++ on weights it sets directly).
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fuse, loadModel, type BatchInput, type BertModel, type Labels } from '../lib/index.js';
import { fixturesDir } from './helpers/paths.js';
import { loadGolden } from './helpers/golden.js';
import { maxRelError, rms } from './helpers/compare.js';

const cases = [
  'pfeiffer',
  'houlsby',
  'pfeiffer-options',
  'pfeiffer-tanh',
  'multiple-choice',
  'regression',
  'fusion-dynamic',
  'fusion-static',
  'fusion-dynamic-temperature',
];

interface CaseConfig {
  adapters: Record<string, Record<string, unknown>>;
  active_setup: string;
  head: { name: string; config: Record<string, unknown> };
  fusion?: { adapter_names: string[]; config: Record<string, unknown> };
  training: { trainable: string[] };
}

const baseDir = join(fixturesDir, 'adapters', 'base');

/** Loads every module folder under `root`: adapters first, then heads, then fusion layers. */
async function loadSaved(root: string, cfg: CaseConfig): Promise<BertModel> {
  const model = await loadModel(baseDir);
  const dirs = readdirSync(root).sort().map((d) => join(root, d));
  for (const d of dirs) if (existsSync(join(d, 'adapter_config.json'))) await model.loadAdapter(d);
  for (const d of dirs) if (existsSync(join(d, 'head_config.json'))) await model.loadHead(d);
  for (const d of dirs) if (existsSync(join(d, 'adapter_fusion_config.json'))) await model.loadAdapterFusion(d);
  const setup = cfg.fusion ? new Fuse(...cfg.fusion.adapter_names) : cfg.active_setup;
  await model.setActiveAdapters(setup, { head: cfg.head.name });
  return model;
}

function inputsOf(golden: Awaited<ReturnType<typeof loadGolden>>): { input: BatchInput; labels: Labels } {
  const ids = golden.get('input_ids');
  const L = ids.shape[ids.shape.length - 1];
  const rows = ids.shape.slice(0, -1).reduce((a, b) => a * b, 1); // multiple choice [E, C, L] → E·C rows
  return {
    input: {
      inputIds: ids.data as Int32Array,
      tokenTypeIds: golden.get('token_type_ids').data as Int32Array,
      attentionMask: golden.get('attention_mask').data as Int32Array,
      batchSize: rows,
      seqLen: L,
    },
    labels: golden.get('labels').data as Labels,
  };
}

async function moduleParams(model: BertModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of model.parameters()) {
    if (p.name.includes('.adapters.') || p.name.includes('.adapter_fusion_layer.') || p.name.startsWith('heads.')) {
      out.set(p.name, await model.getParameter(p.name));
    }
  }
  return out;
}

async function resetTemperature(model: BertModel, cfg: CaseConfig, T: number): Promise<void> {
  if (!cfg.fusion) return;
  const fuse = new Fuse(...cfg.fusion.adapter_names);
  await model.setFusionTemperatures(fuse, new Float32Array((await model.fusionTemperatures(fuse)).length).fill(T));
}

// Parameters whose true gradient is zero (see fixtures/adapters/README.md): Adam amplifies round-off.
const zeroGradParam = (name: string) => name.endsWith('.key.bias') || name === 'heads.mc.4.bias';

for (const name of cases) {
  const caseDir = join(fixturesDir, 'adapters', name);
  const cfg = JSON.parse(readFileSync(join(caseDir, 'config.json'), 'utf8')) as CaseConfig;

  test(`${name}: AdapterHub's saved files reproduce logits, loss, gradients and training`, async (t) => {
    const golden = await loadGolden(join(caseDir, 'golden.safetensors'));
    const { input, labels } = inputsOf(golden);
    const model = await loadSaved(join(caseDir, 'saved'), cfg);
    try {
      // What was loaded, with the configs as AdapterHub wrote them.
      t.deepEqual(model.adapters().sort(), Object.keys(cfg.adapters).sort());
      for (const [a, c] of Object.entries(cfg.adapters)) t.deepEqual(model.adapterConfig(a), c, `config of ${a}`);
      t.deepEqual(model.heads(), [cfg.head.name]);
      t.deepEqual(model.headConfig(cfg.head.name), cfg.head.config);
      if (cfg.fusion) {
        t.deepEqual(model.adapterFusions(), [cfg.fusion.adapter_names.join(',')]);
        t.deepEqual(model.adapterFusionConfig(cfg.fusion.adapter_names), cfg.fusion.config);
      }

      // Logits and fusion attentions (the temperature case runs at T = 50, AdapterHub's first forward).
      const T = golden.names.includes('trajectory.T') ? (golden.get('trajectory.T').data as Float32Array) : null;
      if (T) await resetTemperature(model, cfg, T[0]);
      const out = await model.predict(input, { outputFusionAttentions: !!cfg.fusion });
      const wantLogits = golden.get('logits');
      t.is(out.examples * out.classes, wantLogits.data.length);
      t.is(out.classes, wantLogits.shape[wantLogits.shape.length - 1]);
      const eLogits = maxRelError(out.logits, wantLogits.data as Float32Array);
      t.true(eLogits <= 1e-5, `logits rel error ${eLogits}`);
      if (cfg.fusion) {
        for (let l = 0; l < model.config.numHiddenLayers; l++) {
          const want = golden.get(`fusion_attentions.${l}`).data as Float32Array;
          const got = out.fusionAttentions?.[l];
          t.truthy(got, `fusion attentions of layer ${l}`);
          const e = maxRelError(got!, want);
          t.true(e <= 1e-5, `fusion_attentions.${l} rel error ${e}`);
        }
      }

      // The training mode's trainable set is AdapterHub's.
      if (cfg.fusion) await model.trainAdapterFusion(cfg.fusion.adapter_names);
      else await model.trainAdapter(cfg.active_setup);
      const trainable = model.parameters().filter((p) => p.trainable).map((p) => p.name);
      t.deepEqual([...trainable].sort(), [...cfg.training.trainable].sort());

      // Loss and every gradient.
      if (T) await resetTemperature(model, cfg, T[0]);
      const loss = await model.lossAndGrad(input, labels);
      const wantLoss = (golden.get('loss').data as Float32Array)[0];
      t.true(Math.abs(loss.loss - wantLoss) <= 1e-5 * (1 + Math.abs(wantLoss)), `loss ${loss.loss} want ${wantLoss}`);
      if (golden.names.includes('loss_reg')) {
        const wantReg = (golden.get('loss_reg').data as Float32Array)[0];
        t.true(Math.abs(loss.lossReg - wantReg) <= 1e-5 * (1 + wantReg), `loss_reg ${loss.lossReg} want ${wantReg}`);
      }
      // Gradients that are zero up to round-off (key biases, heads.mc.4.bias) compare against
      // 1% of the typical gradient magnitude.
      const typical = trainable.reduce((s, n) => s + rms(golden.get(`grad.${n}`).data as Float32Array), 0) / trainable.length;
      for (const n of trainable) {
        const e = maxRelError(await model.getGradient(n), golden.get(`grad.${n}`).data as Float32Array, 0.01 * typical);
        t.true(e <= 1e-4, `grad.${n} rel error ${e}`);
      }

      // 10 AdamW steps (lr 1e-3, weight decay 0.01 on every parameter, no clipping).
      await model.zeroGrad();
      await model.resetOptimizer();
      await model.setWeightDecay(() => true);
      if (T) await resetTemperature(model, cfg, T[0]);
      const traj = golden.get('trajectory.loss').data as Float32Array;
      for (let step = 0; step < traj.length; step++) {
        if (T) {
          const now = (await model.fusionTemperatures(cfg.fusion!.adapter_names))[1]; // layer 0, FFN site
          t.true(Math.abs(now - T[step]) <= 1e-4, `step ${step}: temperature ${now} want ${T[step]}`);
        }
        const s = await model.trainStep(input, labels, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0 });
        t.true(Math.abs(s.loss - traj[step]) <= 1e-4 * (1 + Math.abs(traj[step])), `step ${step}: loss ${s.loss} want ${traj[step]}`);
      }
      for (const n of trainable) {
        const got = await model.getParameter(n);
        const want = golden.get(`final.${n}`).data as Float32Array;
        if (zeroGradParam(n)) {
          // Moved by Adam-amplified round-off only: at most ~lr per step.
          const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
          t.true(worst <= 2e-2, `final.${n} moved ${worst}`);
          continue;
        }
        const e = maxRelError(got, want);
        t.true(e <= 1e-4, `final.${n} rel error ${e}`);
      }
    } finally {
      model.dispose();
    }
  });

  if (existsSync(join(caseDir, 'saved-bin'))) {
    test(`${name}: AdapterHub's .bin files load the same weights as its safetensors`, async (t) => {
      const golden = await loadGolden(join(caseDir, 'golden.safetensors'));
      const { input } = inputsOf(golden);
      const fromSt = await loadSaved(join(caseDir, 'saved'), cfg);
      const fromBin = await loadSaved(join(caseDir, 'saved-bin'), cfg);
      try {
        t.deepEqual(fromBin.parameters(), fromSt.parameters());
        const a = await moduleParams(fromSt);
        const b = await moduleParams(fromBin);
        t.deepEqual([...b.keys()], [...a.keys()]);
        for (const [n, v] of a) t.deepEqual(b.get(n), v, n);
        const out = await fromBin.predict(input);
        const e = maxRelError(out.logits, golden.get('logits').data as Float32Array);
        t.true(e <= 1e-5, `logits rel error ${e}`);
      } finally {
        fromSt.dispose();
        fromBin.dispose();
      }
    });
  }
}
