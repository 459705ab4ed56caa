// Adapter composition blocks, as AdapterHub spells them: Fuse('a', 'b', 'c').

/** Fuse the outputs of several adapters with an AdapterFusion layer (name "a,b,c"). */
export class Fuse {
  readonly adapters: readonly string[];
  constructor(...adapters: string[]) {
    if (adapters.length === 0) throw new TypeError('Fuse needs at least one adapter name');
    for (const a of adapters) if (typeof a !== 'string' || a === '') throw new TypeError('Fuse takes adapter names (non-empty strings)');
    this.adapters = Object.freeze([...adapters]);
  }
  /** The fusion's name: the adapter names joined by commas. */
  get name(): string {
    return this.adapters.join(',');
  }
}

/** Fuse('a', 'b') — also callable without `new`, as in AdapterHub. */
export function fuse(...adapters: string[]): Fuse {
  return new Fuse(...adapters);
}

export type AdapterSetup = string | Fuse | null;
