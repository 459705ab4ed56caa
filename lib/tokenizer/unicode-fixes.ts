// Two places where @huggingface/tokenizers 0.2.0's BertNormalizer differs from the Rust
// tokenizer that wrote tokenizer.json (found by comparing both on random Unicode strings):
//
// 1. It looks for CJK ideographs one UTF-16 unit at a time, so ideographs outside the Basic
//    Multilingual Plane (U+20000 and up: CJK extensions B-F, compatibility supplement) are not
//    split into words of their own. We space them out before it runs.
// 2. It lower-cases with String.prototype.toLowerCase, which maps a word-final capital sigma to
//    final sigma (ς); Rust lower-cases character by character (Σ -> σ). Final_Sigma is the only
//    context-dependent rule toLowerCase applies, so mapping Σ first gives Rust's result.
import type { HfTokenizer } from './hf.js';

// CJK ranges above U+FFFF that BERT's is_chinese_char treats as words of their own.
function isAstralCjk(cp: number): boolean {
  return (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

const ASTRAL = /[\u{20000}-\u{2FA1F}]/u;

function spaceAstralCjk(text: string): string {
  if (!ASTRAL.test(text)) return text; // the common case costs one regex test
  let out = '';
  for (const ch of text) out += isAstralCjk(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  return out;
}

export function patchBertNormalizer(tok: HfTokenizer): void {
  const n = tok.normalizer;
  if (!n || n.config.type !== 'BertNormalizer') return;
  const base = n.normalize.bind(n);
  const cjk = n.config.handle_chinese_chars === true;
  const lower = n.config.lowercase === true;
  // normalize() is what the library calls on each piece of text between added tokens
  n.normalize = (text: string) => {
    if (cjk) text = spaceAstralCjk(text);
    if (lower) text = text.replaceAll('\u03a3', '\u03c3');
    return base(text);
  };
}
