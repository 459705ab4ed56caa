#!/usr/bin/env python3
"""Golden token ids for lib/tokenizer, from Hugging Face's slow pure-Python `BertTokenizer`.

Run from the repository root with the reference venv:

    .venv-ref/bin/python scripts/make_tokenizer_fixtures.py

Writes fixtures/tokenizer/golden.json (overwriting). The vocabulary is read from
../shared/data/vocab/bert-base-uncased-vocab.txt; only ids derived from it are committed.

Why the slow tokenizer: it is an independent implementation of BERT's basic + WordPiece
tokenisation, so agreeing with it checks more than agreeing with the Rust tokenizer our
tokenizer.json files come from. Where the two disagree, tokenizer.json encodes the Rust
behaviour, so the case keeps the Rust ids and records the slow ids and a note.

Fast ids come from the Rust backend directly (`backend_tokenizer.encode`), not from
`BertTokenizerFast.__call__`, because that wrapper silently drops an empty-string pair.
"""
from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from pathlib import Path

import tokenizers
import transformers
from transformers import BertTokenizer, BertTokenizerFast

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "tokenizer" / "golden.json"
VOCAB_DIR = ROOT.parent / "shared" / "data" / "vocab"
VOCAB = VOCAB_DIR / "bert-base-uncased-vocab.txt"
TOKENIZER_JSON = VOCAB_DIR / "bert-base-uncased-tokenizer.json"

# HF settings per variant; strip_accents None follows do_lower_case.
VARIANTS = {
    "uncased": {"do_lower_case": True, "strip_accents": None},
    "cased": {"do_lower_case": False, "strip_accents": None},
    "uncased_keep_accents": {"do_lower_case": True, "strip_accents": False},
}

SINGLES = [
    # accents and combining marks
    "Café naïve résumé Ångström",
    "mañana, Ñandú y PIÑA",
    "e\u0301cole, A\u030angstrom, n\u0303 (decomposed)",
    "Straße ÄÖÜ äöü",
    "Tiếng Việt có dấu",
    "ﬁne ﬂoor ﬀ (ligatures)",
    "\u0488x z\u0489 (enclosing marks)",
    # CJK, with Latin, plus supplementary-plane and compatibility ideographs
    "中文分词测试",
    "日本語のテキストとEnglish mixed",
    "我爱NLP和BERT模型",
    "한국어 텍스트",
    "𠀀𠀁𪚥 rare ideographs",
    "豈 更 compatibility",
    # control and invisible characters
    "a\u0000b",
    "tab\tseparated\tvalues",
    "zero\u200bwidth",
    "replacement\ufffdchar",
    "next\u0085line",
    "bell\u0007char",
    "soft\u00adhyphen",
    "bom\ufeffhere",
    "line\u2028separator",
    "nbsp\u00a0and\u3000ideographic space",
    "\r\n windows\r\nnewlines\r\n",
    "x\u0378y (unassigned code point)",
    # punctuation
    "Wait!!!...???",
    "well--maybe",
    "\"quoted\" 'single' “curly” ‘quotes’ «guillemets»",
    "(parens) [brackets] {braces}",
    "a/b\\c|d~e^f`g",
    "¿Qué? ¡Sí!",
    "…ellipsis—em dash–en dash",
    "#hashtag @mention $100 50% a&b *star* _under_",
    "<html>&amp;</html>",
    # long words around max_input_chars_per_word = 100
    "x" * 100,
    "x" * 101,
    "a" * 150 + " short",
    "supercalifragilistic" * 6,
    # empty and whitespace only
    "",
    "   \t\n  ",
    # emoji and symbols
    "I love 🤗 transformers 👍🏽",
    "👨‍👩‍👧 family",
    "☃ ♥ ✓ ∑ ∞",
    # other scripts
    "Привет, мир!",
    "مرحبا بالعالم",
    "สวัสดีชาวโลก",
    "שלום עולם",
    "ΟΔΟΣ Καλημέρα κόσμε ΣΟΦΟΣ",
    "नमस्ते दुनिया",
    "გამარჯობა",
    # numbers
    "1,234,567.89 and 3.14159",
    "1 000 000 or 1'000 or 1_000",
    "2024-01-15 at 10:30pm",
    "+1 (555) 123-4567",
    "½ ¾ ²³ ①",
    "٣٤٥ and １２３",
    # URLs and addresses
    "https://huggingface.co/bert-base-uncased?x=1&y=2#frag",
    "user@example.com",
    "www.example.org/path/to/file.html",
    # special tokens written in the text
    "[CLS] hello [SEP] world [MASK]",
    "[mask] is not special",
    "hello[MASK]world",
    # case
    "HELLO World McDonald's",
    "İstanbul ΣΑΣ",
    # ordinary sentences
    "The quick brown fox jumps over the lazy dog.",
    "it 's a charming and often affecting journey .",
]

PAIRS = [
    ("The cat sat on the mat.", "A dog ran in the park!"),
    ("", "only the second"),
    ("only the first", ""),
    ("", ""),
    ("中文 text", "English 文本"),
    ("Café résumé", "naïve ÅNGSTRÖM"),
    ("Is this [MASK]?", "Yes [SEP] no"),
]

# longest_first truncation: (first, second, max lengths); lengths of 9/5/17/1/0 word-ish tokens.
A9 = "one two three four five six seven eight nine"
B5 = "alpha beta gamma delta epsilon"
B9 = "red orange yellow green blue indigo violet black white"
C17 = "unbelievably long tokenization examples produce many wordpieces"
TRUNCATION = [
    (A9, B5, [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 17, 18, 20]),
    (B5, A9, [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 17, 18, 20]),
    (A9, B9, [3, 4, 5, 6, 7, 10, 11, 12, 20, 21, 22]),
    (C17, "short", [4, 5, 6, 10, 15, 30]),
    ("x", C17, [3, 4, 5, 6, 10, 15, 30]),
    ("", A9, [3, 4, 8]),
    ("中文分词测试很长", "Café naïve résumé Ångström", [5, 8, 9, 12]),
]
SINGLE_TRUNCATION = [(A9, [2, 3, 5, 11, 12]), (C17, [2, 7, 19, 40])]


def slow_for(variant: dict) -> BertTokenizer:
    return BertTokenizer(str(VOCAB), **variant)


def fast_for(name: str, variant: dict) -> tokenizers.Tokenizer:
    if name == "uncased":
        # the shared tokenizer.json itself, which the TS tests load
        return tokenizers.Tokenizer.from_file(str(TOKENIZER_JSON))
    return BertTokenizerFast(vocab_file=str(VOCAB), **variant).backend_tokenizer


def slow_encode(slow: BertTokenizer, a: str, b: str | None, special: bool = True, **trunc) -> tuple[list, list]:
    # transformers refuses type ids without special tokens (it calls them undefined there)
    out = slow(a, b, add_special_tokens=special, return_token_type_ids=special or None, **trunc)
    return out["input_ids"], out.get("token_type_ids")


def fast_encode(fast: tokenizers.Tokenizer, a: str, b: str | None, special: bool = True) -> tuple[list, list]:
    enc = fast.encode(a, b, add_special_tokens=special)
    return enc.ids, enc.type_ids


def encoding_case(name, slow, fast, a, b) -> dict:
    case = {"variant": name, "text": a, "pair": b}
    fast_ids, fast_types = fast_encode(fast, a, b)
    fast_plain, fast_plain_types = fast_encode(fast, a, b, special=False)
    slow_ids, slow_types = slow_encode(slow, a, b)
    slow_plain, _ = slow_encode(slow, a, b, special=False)
    case.update(ids=fast_ids, type_ids=fast_types, ids_no_special=fast_plain, type_ids_no_special=fast_plain_types)
    if slow_ids != fast_ids or slow_types != fast_types or slow_plain != fast_plain:
        case["slow_ids"] = slow_ids
        case["note"] = "slow and fast tokenizers disagree; ids follow the fast one (tokenizer.json)"
    return case


def truncation_case(slow, fast, a, b, max_length) -> dict:
    fast.enable_truncation(max_length, strategy="longest_first")
    try:
        fast_ids, fast_types = fast_encode(fast, a, b)
    finally:
        fast.no_truncation()
    slow_ids, _ = slow_encode(slow, a, b, truncation="longest_first", max_length=max_length)
    case = {"text": a, "pair": b, "max_length": max_length, "ids": fast_ids, "type_ids": fast_types}
    if slow_ids != fast_ids:
        case["slow_ids"] = slow_ids
        case["note"] = (
            "slow splits the budget differently (ties, shorter side); ids follow the fast one" if b is not None
            else "slow refuses to truncate a sequence to nothing and returns it whole; ids follow the fast one"
        )
    return case


def visible_json(value) -> str:
    # readable JSON: letters stay literal, invisible or combining characters become \u escapes
    def esc(ch: str) -> str:
        if ch == " " or unicodedata.category(ch)[0] not in "CZM":
            return ch
        return json.dumps(ch, ensure_ascii=True)[1:-1]

    return "".join(esc(ch) for ch in json.dumps(value, ensure_ascii=False))


def dump(doc: dict) -> str:
    # one case per line: small, diffable, and readable in review
    lines = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        end = "," if i < len(keys) - 1 else ""
        if isinstance(value, list):
            rows = [visible_json(v) for v in value]
            lines.append(f'  "{key}": [\n    ' + ",\n    ".join(rows) + f"\n  ]{end}")
        else:
            lines.append(f'  "{key}": {visible_json(value)}{end}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    if not VOCAB.exists():
        print(f"missing {VOCAB}", file=sys.stderr)
        return 1
    cases = []
    for name, variant in VARIANTS.items():
        slow, fast = slow_for(variant), fast_for(name, variant)
        for text in SINGLES:
            cases.append(encoding_case(name, slow, fast, text, None))
        for a, b in PAIRS:
            cases.append(encoding_case(name, slow, fast, a, b))

    slow, fast = slow_for(VARIANTS["uncased"]), fast_for("uncased", VARIANTS["uncased"])
    truncation = [truncation_case(slow, fast, a, b, n) for a, b, lengths in TRUNCATION for n in lengths]
    truncation += [truncation_case(slow, fast, a, None, n) for a, lengths in SINGLE_TRUNCATION for n in lengths]

    doc = {
        "about": "BERT WordPiece golden ids; written by scripts/make_tokenizer_fixtures.py",
        "generator": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "vocab_sha256": hashlib.sha256(VOCAB.read_bytes()).hexdigest(),
        "variants": VARIANTS,
        "cases": cases,
        "truncation": truncation,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(dump(doc), encoding="utf-8")
    disagree = [c for c in cases + truncation if "note" in c]
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(cases)} cases, {len(truncation)} truncation cases, "
          f"{len(disagree)} where slow and fast disagree")
    for c in disagree:
        print(f"  {c.get('variant', 'truncation')}: {c['text']!r} / {c['pair']!r} {c.get('max_length', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
