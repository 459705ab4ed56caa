// Writes a model's encoder as a Hugging Face BERT folder (config.json + model.safetensors, and the
// tokenizer files of the folder it came from), e.g. after full fine-tuning or MT-A, so that
// loadModel — and transformers' BertModel.from_pretrained — read it back. Adapters, fusion layers
// and heads are not part of it: they are saved as AdapterHub folders.
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BertModel } from './bert-model.js';
import { writeSafetensors, type TensorToWrite } from '../safetensors.js';
import { IoError } from '../errors.js';
import { ensureFolder, exists, writeJson } from '../runs/files.js';

const TOKENIZER_FILES = ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** Names of every adapter, fusion and head parameter of the model. */
function moduleParameterNames(model: BertModel): Set<string> {
  const handle = model._native();
  const names = new Set<string>();
  for (const a of model.adapters()) for (const n of handle.moduleParamNames('adapter', a)) names.add(n);
  for (const f of model.adapterFusions()) for (const n of handle.moduleParamNames('fusion', f)) names.add(n);
  for (const h of model.heads()) for (const n of handle.moduleParamNames('head', h)) names.add(n);
  return names;
}

/** The config.json of the model: the source folder's (other keys kept) with the model's sizes. */
async function configJson(model: BertModel): Promise<Record<string, unknown>> {
  let base: Record<string, unknown> = { architectures: ['BertModel'], model_type: 'bert' };
  if (model.dir && (await exists(join(model.dir, 'config.json')))) {
    base = JSON.parse(await readFile(join(model.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  }
  const c = model.config;
  return {
    ...base,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: c.typeVocabSize,
    layer_norm_eps: c.layerNormEps,
    hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    pad_token_id: c.padTokenId,
    hidden_act: c.hiddenAct,
  };
}

/**
 * Saves the encoder weights (F32) and config.json into `dir`, copying the tokenizer files of the
 * folder the model was loaded from (or `options.tokenizerFrom`).
 */
export async function saveModel(model: BertModel, dir: string, options: { tokenizerFrom?: string } = {}): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
  await ensureFolder(dir);
  const skip = moduleParameterNames(model);
  const tensors: TensorToWrite[] = [];
  for (const p of model.parameters()) {
    if (skip.has(p.name)) continue;
    tensors.push({ name: p.name, dtype: 'F32', shape: p.shape, data: await model.getParameter(p.name) });
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeJson(join(dir, 'config.json'), await configJson(model));
  const from = options.tokenizerFrom ?? model.dir;
  if (from) {
    for (const f of TOKENIZER_FILES) {
      if (!(await exists(join(from, f)))) continue;
      await copyFile(join(from, f), join(dir, f)).catch((err) => {
        throw new IoError(`cannot copy ${join(from, f)} to ${dir}: ${(err as Error).message}`, { cause: err });
      });
    }
  }
}
