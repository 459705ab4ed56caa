// Special-token templates ("[CLS] $A [SEP] $B [SEP]") read from tokenizer.json's post_processor.
// We apply them ourselves, after truncation, because @huggingface/tokenizers neither truncates
// nor tells how many special tokens a template adds.
import { InvalidFileError } from '../errors.js';

export type Piece = { special: number[]; typeId: number } | { sequence: 0 | 1; typeId: number };

export interface Template {
  single: Piece[];
  pair: Piece[];
}

type Json = Record<string, unknown>;

// Without a post-processor the segments get type ids 0 and 1, as in the Rust tokenizer.
const PLAIN: Template = { single: [{ sequence: 0, typeId: 0 }], pair: [{ sequence: 0, typeId: 0 }, { sequence: 1, typeId: 1 }] };

// The template with its special tokens left out (addSpecialTokens: false).
export function withoutSpecials(t: Template): Template {
  const seq = (p: Piece) => 'sequence' in p;
  return { single: t.single.filter(seq), pair: t.pair.filter(seq) };
}

export function parseTemplate(postProcessor: unknown, path: string): Template {
  if (postProcessor === null || postProcessor === undefined) return PLAIN;
  const pp = postProcessor as Json;
  const bad = (what: string): never => {
    throw new InvalidFileError(`${path}: post_processor: ${what}`);
  };
  if (pp.type === 'BertProcessing') {
    const idOf = (key: string): number => {
      const v = pp[key];
      if (!Array.isArray(v) || typeof v[1] !== 'number') bad(`"${key}" must be [token, id]`);
      return (v as [string, number])[1];
    };
    const cls = idOf('cls');
    const sep = idOf('sep');
    return {
      single: [{ special: [cls], typeId: 0 }, { sequence: 0, typeId: 0 }, { special: [sep], typeId: 0 }],
      pair: [{ special: [cls], typeId: 0 }, { sequence: 0, typeId: 0 }, { special: [sep], typeId: 0 }, { sequence: 1, typeId: 1 }, { special: [sep], typeId: 1 }],
    };
  }
  if (pp.type !== 'TemplateProcessing') return bad(`type ${JSON.stringify(pp.type)} is not supported (BERT uses TemplateProcessing or BertProcessing)`);
  const specials = (pp.special_tokens ?? {}) as Record<string, { ids?: unknown }>;
  const pieces = (items: unknown, which: string): Piece[] => {
    if (!Array.isArray(items)) return bad(`"${which}" must be a list`);
    return items.map((item: Json) => {
      if (item && typeof item === 'object' && 'SpecialToken' in item) {
        const s = item.SpecialToken as { id: string; type_id?: number };
        const ids = specials[s.id]?.ids;
        if (!Array.isArray(ids) || !ids.every((i) => Number.isInteger(i))) bad(`special token ${JSON.stringify(s.id)} has no ids in special_tokens`);
        return { special: ids as number[], typeId: s.type_id ?? 0 };
      }
      if (item && typeof item === 'object' && 'Sequence' in item) {
        const s = item.Sequence as { id: string; type_id?: number };
        if (s.id !== 'A' && s.id !== 'B') bad(`sequence id ${JSON.stringify(s.id)} must be "A" or "B"`);
        return { sequence: s.id === 'A' ? 0 : 1, typeId: s.type_id ?? 0 } as Piece;
      }
      return bad(`unknown template item ${JSON.stringify(item)}`);
    });
  };
  return { single: pieces(pp.single, 'single'), pair: pieces(pp.pair, 'pair') };
}

export function specialCount(pieces: Piece[]): number {
  let n = 0;
  for (const p of pieces) if ('special' in p) n += p.special.length;
  return n;
}

// Appends the encoding of (a, b) under `pieces` to ids/typeIds.
export function applyTemplate(pieces: Piece[], a: number[], b: number[] | null, ids: number[], typeIds: number[]): void {
  for (const p of pieces) {
    const src = 'special' in p ? p.special : p.sequence === 0 ? a : b ?? [];
    for (const id of src) {
      ids.push(id);
      typeIds.push(p.typeId);
    }
  }
}
