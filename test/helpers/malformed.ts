// Byte builders for the malformed-input tests: a safetensors writer that takes the header as an
// object or raw text (so it can lie about lengths, offsets and dtypes), a ZIP writer for stored
// or deflated entries that reports where each structure starts (so a test can cut the file at
// any boundary), a pickle byte builder (protocol 2 opcodes, as torch.save writes them) and a
// torch.save archive built from both. Nothing here is clever: every field is written as is.
import { deflateRawSync } from 'node:zlib';

// ------------------------------------------------------------------ safetensors

export interface SafetensorsBytes {
  bytes: Buffer;
  /** Where the header text starts (after the 8-byte length) and the data section starts. */
  headerStart: number;
  dataStart: number;
}

/**
 * A safetensors file: u64 little-endian header length, the header (an object, JSON.stringify'd,
 * or raw text / bytes), then `data`. `headerLength` overrides the length field.
 */
export function safetensorsBytes(header: unknown, data: Uint8Array | number = 0, opts: { headerLength?: bigint } = {}): SafetensorsBytes {
  const h = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.headerLength ?? BigInt(h.length));
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { bytes: Buffer.concat([len, h, body]), headerStart: 8, dataStart: 8 + h.length };
}

export interface F32Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A well-formed F32 safetensors file of `tensors` (in the given order), as a header object plus data. */
export function f32Safetensors(tensors: F32Tensor[]): { header: Record<string, unknown>; data: Buffer } {
  const header: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let at = 0;
  for (const t of tensors) {
    const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + b.length] };
    parts.push(b);
    at += b.length;
  }
  return { header, data: Buffer.concat(parts) };
}

// ------------------------------------------------------------------ ZIP

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntryIn {
  name: string;
  data: Uint8Array;
  /** Write the entry deflated (method 8) instead of stored. */
  deflate?: boolean;
}

export interface ZipLayout {
  bytes: Buffer;
  /** Offset of each entry's local header, and of its data. */
  local: number[];
  data: number[];
  /** Offset of the central directory, of each of its entries, and of the end record. */
  centralDirectory: number;
  central: number[];
  end: number;
}

/** A plain (non-ZIP64) ZIP archive, entries in the given order, as Python's zipfile writes one. */
export function zipBytes(entries: ZipEntryIn[]): ZipLayout {
  const out: Buffer[] = [];
  const local: number[] = [];
  const dataAt: number[] = [];
  const cd: Buffer[] = [];
  let pos = 0;
  const infos: { name: Buffer; crc: number; csize: number; size: number; method: number; off: number }[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const raw = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    const method = e.deflate ? 8 : 0;
    const stored = e.deflate ? deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4); // version needed
    h.writeUInt16LE(0, 6); // flags
    h.writeUInt16LE(method, 8);
    h.writeUInt32LE(0, 10); // time, date
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(stored.length, 18);
    h.writeUInt32LE(raw.length, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(0, 28);
    local.push(pos);
    out.push(h, name);
    pos += 30 + name.length;
    dataAt.push(pos);
    out.push(stored);
    infos.push({ name, crc, csize: stored.length, size: raw.length, method, off: local[local.length - 1] });
    pos += stored.length;
  }
  const centralDirectory = pos;
  const central: number[] = [];
  for (const i of infos) {
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4); // version made by
    c.writeUInt16LE(20, 6); // version needed
    c.writeUInt16LE(0, 8);
    c.writeUInt16LE(i.method, 10);
    c.writeUInt32LE(0, 12);
    c.writeUInt32LE(i.crc, 16);
    c.writeUInt32LE(i.csize, 20);
    c.writeUInt32LE(i.size, 24);
    c.writeUInt16LE(i.name.length, 28);
    // extra, comment, disk, internal attributes: 0
    c.writeUInt32LE(0, 38); // external attributes
    c.writeUInt32LE(i.off, 42);
    central.push(pos);
    cd.push(c, i.name);
    pos += 46 + i.name.length;
  }
  const cdSize = pos - centralDirectory;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(infos.length, 8);
  end.writeUInt16LE(infos.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(centralDirectory, 16);
  const endAt = pos;
  return { bytes: Buffer.concat([...out, ...cd, end]), local, data: dataAt, centralDirectory, central, end: endAt };
}

// ------------------------------------------------------------------ pickle

/** Pickle bytes, opcode by opcode (protocol 2 plus the protocol 4 opcodes torch may use). */
export class Pickle {
  private readonly parts: Buffer[] = [];

  raw(bytes: Uint8Array | number[] | string): this {
    this.parts.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
    return this;
  }
  proto(v = 2): this {
    return this.raw([0x80, v]);
  }
  mark(): this {
    return this.raw('(');
  }
  stop(): this {
    return this.raw('.');
  }
  none(): this {
    return this.raw('N');
  }
  bool(v: boolean): this {
    return this.raw([v ? 0x88 : 0x89]);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.raw([0x4b, v]); // BININT1
    const b = Buffer.alloc(5);
    b[0] = 0x4a; // BININT
    b.writeInt32LE(v, 1);
    return this.raw(b);
  }
  /** BINUNICODE with a length field that may lie. */
  str(s: string, lengthOverride?: number): this {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(lengthOverride ?? b.length, 1);
    return this.raw(Buffer.concat([h, b]));
  }
  /** BINUNICODE of raw bytes (e.g. not UTF-8). */
  strBytes(b: Uint8Array): this {
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    return this.raw(Buffer.concat([h, Buffer.from(b)]));
  }
  global(module: string, name: string): this {
    return this.raw(`c${module}\n${name}\n`);
  }
  emptyDict(): this {
    return this.raw('}');
  }
  emptyList(): this {
    return this.raw(']');
  }
  emptyTuple(): this {
    return this.raw(')');
  }
  tuple(): this {
    return this.raw('t');
  }
  tuple1(): this {
    return this.raw([0x85]);
  }
  reduce(): this {
    return this.raw('R');
  }
  build(): this {
    return this.raw('b');
  }
  append(): this {
    return this.raw('a');
  }
  setitem(): this {
    return this.raw('s');
  }
  setitems(): this {
    return this.raw('u');
  }
  binpersid(): this {
    return this.raw('Q');
  }
  binput(i: number): this {
    return this.raw([0x71, i]);
  }
  binget(i: number): this {
    return this.raw([0x68, i]);
  }
  longBinput(i: number): this {
    const b = Buffer.alloc(5);
    b[0] = 0x72;
    b.writeUInt32LE(i >>> 0, 1);
    return this.raw(b);
  }
  longBinget(i: number): this {
    const b = Buffer.alloc(5);
    b[0] = 0x6a;
    b.writeUInt32LE(i >>> 0, 1);
    return this.raw(b);
  }
  /** A tuple of small non-negative ints. */
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /**
   * torch's pickling of a tensor: _rebuild_tensor_v2(persistent storage, offset, size, stride,
   * requires_grad=False, OrderedDict()). `storage` defaults to FloatStorage holding `numel` elements.
   */
  tensor(key: string, numel: number, shape: number[], opts: { offset?: number; stride?: number[]; storageType?: string; location?: string } = {}): this {
    const stride = opts.stride ?? shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.mark();
    this.mark().str('storage').global('torch', opts.storageType ?? 'FloatStorage').str(key).str(opts.location ?? 'cpu').int(numel).tuple().binpersid();
    this.int(opts.offset ?? 0).ints(shape).ints(stride).bool(false);
    this.global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A state dict pickle as torch.save writes it: {name: tensor} with storages "0", "1", ... */
export function stateDictPickle(tensors: { name: string; shape: number[]; numel?: number }[]): Buffer {
  const p = new Pickle().proto(2).emptyDict().mark();
  tensors.forEach((t, i) => {
    const numel = t.numel ?? t.shape.reduce((a, b) => a * b, 1);
    p.str(t.name).tensor(String(i), numel, t.shape);
  });
  return p.setitems().stop().bytes();
}

/** The entries of a torch.save archive named `archive`: data.pkl, byteorder, data/<i>, version. */
export function torchEntries(archive: string, pickle: Uint8Array, storages: Uint8Array[], opts: { deflate?: Set<string> } = {}): ZipEntryIn[] {
  const entries: ZipEntryIn[] = [{ name: `${archive}/data.pkl`, data: pickle }, { name: `${archive}/byteorder`, data: Buffer.from('little') }];
  storages.forEach((s, i) => entries.push({ name: `${archive}/data/${i}`, data: s, deflate: opts.deflate?.has(`${archive}/data/${i}`) }));
  entries.push({ name: `${archive}/version`, data: Buffer.from('3\n') });
  return entries;
}

/** A torch.save(.bin) archive of F32 tensors, as torch writes a state dict (one storage per tensor). */
export function torchBin(tensors: F32Tensor[], archive = 'archive'): ZipLayout {
  const pickle = stateDictPickle(tensors);
  const storages = tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return zipBytes(torchEntries(archive, pickle, storages));
}

// ------------------------------------------------------------------ JSON

/** `depth` nested arrays around `inner`: "[[[...]]]". */
export function nestedArrays(depth: number, inner = '0'): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth);
}

/** `depth` nested objects {"a":{"a":...}} around `inner`. */
export function nestedObjects(depth: number, inner = '0'): string {
  return '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}
