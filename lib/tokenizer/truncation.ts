// Truncation of one or two segments to a token budget (maxLength minus the special tokens),
// with the rules of the Rust tokenizer behind tokenizer.json (tokenizers' truncate_encodings).
// It removes tokens from the end of a segment; it never drops a segment's special tokens.
import { InvalidArgumentError } from '../errors.js';

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

// Lengths [first, second] to keep; second is 0 for a single segment.
//
// longest_first, two segments: if the shorter fits in half the budget it stays whole and the
// longer gets the rest; otherwise each gets half, the shorter (the first on a tie) rounding
// down. Note that this is not the one-token-at-a-time rule of transformers' slow tokenizers,
// which breaks ties the other way: with lengths 5 and 5 and a budget of 7, Rust keeps 3 + 4
// and the slow tokenizer 4 + 3; with 3 and 9 and a budget of 5, Rust keeps 2 + 3, slow 3 + 2.
//
// only_first / only_second: all the excess comes out of that segment, which must keep at least
// one token (Rust refuses with "sequence to truncate too short" otherwise; so do we).
export function truncatedLengths(n1: number, n2: number | null, budget: number, strategy: TruncationStrategy): [number, number] {
  const m = n2 ?? 0;
  if (n1 + m <= budget) return [n1, m];
  if (strategy === 'longest_first') {
    if (n2 === null) return [budget, 0];
    const swap = n1 > n2;
    const short = swap ? n2 : n1;
    const half = Math.floor(budget / 2);
    const [keepShort, keepLong] = 2 * short <= budget ? [short, budget - short] : [half, budget - half];
    return swap ? [keepLong, keepShort] : [keepShort, keepLong];
  }
  const excess = n1 + m - budget;
  if (strategy === 'only_second' && n2 === null) {
    throw new InvalidArgumentError("truncation 'only_second' needs a pair, but this input has a single text");
  }
  const target = strategy === 'only_first' ? n1 : m;
  if (target <= excess) {
    throw new InvalidArgumentError(
      `truncation '${strategy}' must remove ${excess} tokens, but the ${strategy === 'only_first' ? 'first' : 'second'} text has only ${target}; ` +
        "use 'longest_first' or a larger maxLength",
    );
  }
  return strategy === 'only_first' ? [n1 - excess, m] : [n1, m - excess];
}
