// fromPretrained's file handling: tokenizer.json (+ tokenizer_config.json) when the folder has
// one, else the equivalent configuration built from vocab.txt.
import { join } from 'node:path';
import { InvalidFileError, IoError } from '../errors.js';
import { readJsonObject, readVocab, isFile, requireDirectory } from './files.js';
import { createHfTokenizer, type HfTokenizer } from './hf.js';
import { resolveSettings, type TokenizerOptions, type TokenizerSettings } from './settings.js';
import { parseTemplate, type Template } from './template.js';
import { patchBertNormalizer } from './unicode-fixes.js';
import { bertTokenizerJson, withNormalizerOverrides } from './wordpiece-config.js';

export interface SpecialTokenIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

export interface LoadedTokenizer {
  hf: HfTokenizer;
  template: Template;
  ids: SpecialTokenIds;
  maxLength: number;
  source: string; // the file the vocabulary came from
}

export async function loadTokenizer(dir: string, opts: TokenizerOptions): Promise<LoadedTokenizer> {
  await requireDirectory(dir);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = (await isFile(configPath)) ? await readJsonObject(configPath) : {};
  const settings = resolveSettings(opts, config, configPath);

  const jsonPath = join(dir, 'tokenizer.json');
  const vocabPath = join(dir, 'vocab.txt');
  let json: Record<string, unknown>;
  let source: string;
  if (await isFile(jsonPath)) {
    json = await readJsonObject(jsonPath);
    const model = json.model as Record<string, unknown> | undefined;
    if (!model || typeof model !== 'object' || !model.vocab || typeof model.vocab !== 'object') {
      throw new InvalidFileError(`${jsonPath}: has no "model" with a "vocab"`);
    }
    if (!Array.isArray(model.vocab)) checkVocabIds(model.vocab as Record<string, unknown>, jsonPath);
    json = withNormalizerOverrides(json, jsonPath, settings.normalizer, settings.fromOptions);
    source = jsonPath;
  } else if (await isFile(vocabPath)) {
    json = bertTokenizerJson(await readVocab(vocabPath), vocabPath, settings.names, settings.normalizer);
    source = vocabPath;
  } else {
    throw new IoError(`${dir}: has neither tokenizer.json nor vocab.txt`);
  }

  const template = parseTemplate(json.post_processor, source);
  const hf = createHfTokenizer(json, config, source);
  patchBertNormalizer(hf);
  return { hf, template, ids: specialIds(hf, settings, source), maxLength: settings.maxLength, source };
}

function specialIds(hf: HfTokenizer, settings: TokenizerSettings, source: string): SpecialTokenIds {
  const id = (key: keyof SpecialTokenIds): number => {
    const name = settings.names[key];
    const v = hf.token_to_id(name);
    if (v === undefined) throw new InvalidFileError(`${source}: has no ${name} token (${key}_token)`);
    return v;
  };
  return { pad: id('pad'), unk: id('unk'), cls: id('cls'), sep: id('sep'), mask: id('mask') };
}

// A WordPiece/BPE vocabulary maps tokens to ids, which the tokenizers library takes as u32. A
// string, fractional or negative id would otherwise be used as is (a token encoded as -1 or 0).
function checkVocabIds(vocab: Record<string, unknown>, path: string): void {
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      const shown = token.length > 60 ? `${JSON.stringify(token.slice(0, 60))}…` : JSON.stringify(token);
      throw new InvalidFileError(`${path}: model.vocab[${shown}] = ${JSON.stringify(id) ?? String(id)} is not a token id (an integer 0 ≤ id < 2^32)`);
    }
  }
}
