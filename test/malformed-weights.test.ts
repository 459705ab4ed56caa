// Malformed and hostile weights files (safetensors, PyTorch .bin ZIP + pickle) and NaN/Inf weights, through every loader.
// The rule each case follows, and the shared fixtures: test/helpers/malformed-setup.ts.
//
//   kind                                              file(s) it targets
//   ------------------------------------------------  ----------------------------------------------
//   empty file (0 bytes)                               model.safetensors, adapter.safetensors, *.bin
//   truncated in the 8-byte length prefix              *.safetensors
//   truncated inside the header                        *.safetensors
//   truncated inside the data                          *.safetensors
//   truncated in a ZIP local header / its data         *.bin
//   truncated in the ZIP central directory             *.bin
//   truncated in the ZIP end record                    *.bin
//   huge header length (2^63, 2^64-1)                  *.safetensors (refused from the file size)
//   huge dimensions (overflowing / consistent)         *.safetensors, *.bin (refused, nothing allocated)
//   sizes and offsets past EOF                         *.safetensors data_offsets; ZIP central directory
//                                                      offset/size, local header offset, entry size,
//                                                      ZIP64 end record offset; huge ZIP/ZIP64 entry counts
//   overlapping offsets                                *.safetensors
//   unsorted offsets (accepted, as the reference)      *.safetensors
//   reversed / negative offsets                        *.safetensors
//   bad dtypes                                         *.safetensors (unknown name), *.bin (storage type)
//   NaN / Inf weights (load, with a warning)           model.safetensors, adapter.safetensors, *.bin
//   duplicate keys                                     safetensors header (tensor, __metadata__),
//                                                      pickled state dict, ZIP entries
//   non-UTF-8 bytes                                    safetensors header, pickle strings
//   deeply nested JSON (100k levels)                   safetensors header
//   ZIP entry names with path traversal                *.bin (archive name, absolute name, storage key)
//   compressed (deflate) ZIP entries                   *.bin (a storage, data.pkl)
//   duplicate / mismatched / missing ZIP entries       *.bin (entry twice, local name, no data.pkl)
//   big-endian byteorder record                        *.bin
//   pickle with foreign globals                        *.bin (GLOBAL os.system, posix.system,
//                                                      STACK_GLOBAL builtins.eval)
//   REDUCE on a non-allowed callable                   *.bin (a storage type, a string, OrderedDict(args))
//   memo abuse                                         *.bin (GET of a missing key, GET 2^32-1,
//                                                      more than 2^21 MEMOIZEs; a huge PUT index is fine)
//   recursion bombs                                    *.bin (100k MARKs, 100k nested 1-tuples,
//                                                      100k nested lists as root and as a value)
//   string length past the end / no STOP / bad opcode  *.bin
//   storage smaller than its view, strides past it     *.bin
//   a directory where a file is expected               model.safetensors, adapter/head/fusion weights
//   missing files                                      model.safetensors, adapter/head/fusion weights
import test from 'ava';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidFileError, IoError, UnsupportedError, loadModel, readSafetensors } from '../lib/index.js';
import {
  Pickle,
  f32Safetensors,
  nestedArrays,
  nestedObjects,
  safetensorsBytes,
  stateDictPickle,
  torchBin,
  torchEntries,
  zipBytes,
  type ZipLayout,
} from './helpers/malformed.js';
import {
  DEEP,
  FILES,
  caseDir,
  cli,
  expectError,
  expectLoadError,
  rssMB,
  target,
  useMalformedFixtures,
  warningsOf,
  writeInput,
  type ErrorClass,
  type Kind,
} from './helpers/malformed-setup.js';

const fx = useMalformedFixtures();
const { src } = fx;

// ------------------------------------------------------------------ safetensors

const t4 = (begin: number, end: number, shape = [1], dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });
/** A good two-tensor file: a = [2] at [0, 8), b = [1] at [8, 12). */
const goodSt = () => safetensorsBytes({ a: t4(0, 8, [2]), b: t4(8, 12) }, new Uint8Array(new Float32Array([1, 2, 3]).buffer));

interface StCase {
  name: string;
  bytes: () => Buffer;
  cls: ErrorClass;
  message: RegExp;
  /** Checked: the RSS grows by less than this many MiB (nothing sized by the hostile number is allocated). */
  maxGrowthMB?: number;
}

const stCases: StCase[] = [
  { name: 'an empty file', bytes: () => Buffer.alloc(0), cls: InvalidFileError, message: /file is 0 bytes, too short for the 8-byte header length/ },
  { name: 'truncated in the length prefix', bytes: () => goodSt().bytes.subarray(0, 5), cls: InvalidFileError, message: /file is 5 bytes, too short for the 8-byte header length/ },
  { name: 'only the length prefix', bytes: () => goodSt().bytes.subarray(0, 8), cls: InvalidFileError, message: /header length \d+ runs past the end of the file \(8 bytes\)/ },
  { name: 'truncated inside the header', bytes: () => goodSt().bytes.subarray(0, 20), cls: InvalidFileError, message: /header length \d+ runs past the end of the file \(20 bytes\)/ },
  { name: 'truncated inside the data', bytes: () => { const g = goodSt(); return g.bytes.subarray(0, g.bytes.length - 2); }, cls: InvalidFileError, message: /tensor "b": data range \[8, 12\) runs past the end of the data section \(10 bytes; is the file truncated\?\)/ },
  { name: 'a header length of 2^63', bytes: () => safetensorsBytes({}, 0, { headerLength: 2n ** 63n }).bytes, cls: InvalidFileError, message: /header length 9223372036854775808 exceeds the limit/, maxGrowthMB: 64 },
  { name: 'a header length of 2^64-1', bytes: () => safetensorsBytes({}, 0, { headerLength: 2n ** 64n - 1n }).bytes, cls: InvalidFileError, message: /header length 18446744073709551615 exceeds the limit/, maxGrowthMB: 64 },
  { name: 'a header length of 0', bytes: () => safetensorsBytes('', 0).bytes, cls: InvalidFileError, message: /header: invalid JSON at byte 0/ },
  { name: 'huge dimensions whose byte size overflows', bytes: () => safetensorsBytes({ a: t4(0, 4, [2 ** 31, 2 ** 31]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": byte size of shape \[2147483648, 2147483648\] overflows 64 bits/, maxGrowthMB: 64 },
  { name: 'huge dimensions with matching offsets in a tiny file', bytes: () => safetensorsBytes({ a: t4(0, 2 ** 52, [2 ** 50]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data range \[0, 4503599627370496\) runs past the end of the data section \(4 bytes/, maxGrowthMB: 64 },
  { name: 'data_offsets past EOF', bytes: () => safetensorsBytes({ a: t4(0, 4096, [1024]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data range \[0, 4096\) runs past the end of the data section/ },
  { name: 'overlapping offsets', bytes: () => safetensorsBytes({ a: t4(0, 8, [2]), b: t4(4, 8) }, 8).bytes, cls: InvalidFileError, message: /tensor "b": data range \[4, 8\) overlaps tensor "a" at \[0, 8\)/ },
  { name: 'reversed offsets', bytes: () => safetensorsBytes({ a: t4(4, 0, [0]) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data_offsets begin 4 is after end 0/ },
  { name: 'a negative offset', bytes: () => safetensorsBytes({ a: t4(-4, 0) }, 4).bytes, cls: InvalidFileError, message: /tensor "a": data_offsets\[0\]: expected a non-negative integer, got -4/ },
  { name: 'an unknown dtype', bytes: () => safetensorsBytes({ a: t4(0, 4, [1], 'float32') }, 4).bytes, cls: InvalidFileError, message: /tensor "a": unknown dtype "float32"/ },
  {
    name: 'a duplicate tensor key in the header',
    bytes: () => safetensorsBytes('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8).bytes,
    cls: InvalidFileError,
    message: /header: invalid JSON at byte \d+: duplicate key "a"/,
  },
  {
    name: 'a duplicate __metadata__ key',
    bytes: () => safetensorsBytes('{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4).bytes,
    cls: InvalidFileError,
    message: /header: invalid JSON at byte \d+: duplicate key "k"/,
  },
  {
    name: 'non-UTF-8 bytes in the header',
    bytes: () => safetensorsBytes(Buffer.from('{"\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 'latin1'), 4).bytes,
    cls: InvalidFileError,
    message: /header is not valid UTF-8/,
  },
  { name: 'a header nested 100k arrays deep', bytes: () => safetensorsBytes(nestedArrays(DEEP), 0).bytes, cls: InvalidFileError, message: /header: invalid JSON at byte \d+: nesting deeper than 128 levels/ },
  { name: 'a header nested 100k objects deep', bytes: () => safetensorsBytes(nestedObjects(DEEP), 0).bytes, cls: InvalidFileError, message: /header: invalid JSON at byte \d+: nesting deeper than 128 levels/ },
];

test.serial('safetensors: every malformed file is refused by readSafetensors, loadModel and the adapter/head/fusion loaders', async (t) => {
  t.timeout(120_000);
  const m = await target();
  try {
    for (const c of stCases) {
      const bytes = c.bytes();
      const rss0 = rssMB();
      // readSafetensors
      const file = join(caseDir(), 'x.safetensors');
      writeFileSync(file, bytes);
      await expectError(t, `readSafetensors, ${c.name}`, () => readSafetensors(file), { cls: c.cls, message: c.message, path: file });
      // loadModel: the checkpoint's model.safetensors
      const ckpt = caseDir(src.model);
      writeFileSync(join(ckpt, 'model.safetensors'), bytes);
      await expectError(t, `loadModel, ${c.name}`, () => loadModel(ckpt), { cls: c.cls, message: c.message, path: join(ckpt, 'model.safetensors') });
      // the loaders: the module's weights file; the model stays as it was
      for (const kind of ['adapter', 'head', 'fusion'] as const) {
        const dir = caseDir(FILES[kind].src());
        const weights = join(dir, FILES[kind].weights);
        writeFileSync(weights, bytes);
        await expectLoadError(t, m, `${kind} weights, ${c.name}`, kind, dir, { cls: c.cls, message: c.message, path: weights });
      }
      if (c.maxGrowthMB !== undefined) t.true(rssMB() - rss0 < c.maxGrowthMB, `${c.name}: RSS grew by ${Math.round(rssMB() - rss0)} MiB`);
    }

    // A directory where the file is expected, and a missing file.
    const dirFile = join(caseDir(), 'x.safetensors');
    mkdirSync(dirFile);
    await expectError(t, 'readSafetensors of a directory', () => readSafetensors(dirFile), { cls: IoError, message: /./, path: dirFile });
    await expectError(t, 'readSafetensors of a missing file', () => readSafetensors(join(fx.root, 'nope.safetensors')), { cls: IoError, message: /./, path: join(fx.root, 'nope.safetensors') });
    const ckpt = caseDir(src.model);
    rmSync(join(ckpt, 'model.safetensors'));
    mkdirSync(join(ckpt, 'model.safetensors'));
    // (The native message says "file not found" for a directory today; any IoError naming the file will do.)
    await expectError(t, 'loadModel, model.safetensors is a directory', () => loadModel(ckpt), { cls: IoError, message: /model\.safetensors: /, path: join(ckpt, 'model.safetensors') });
    for (const kind of ['adapter', 'head', 'fusion'] as const) {
      const dir = caseDir(FILES[kind].src());
      rmSync(join(dir, FILES[kind].weights));
      mkdirSync(join(dir, FILES[kind].weights));
      const e = { cls: IoError, message: new RegExp(`no weights file \\(neither ${FILES[kind].weights.replace('.', '\\.')} nor ${FILES[kind].bin.replace('.', '\\.')}\\)`), path: dir };
      await expectLoadError(t, m, `${kind} weights file is a directory`, kind, dir, e);
      rmSync(join(dir, FILES[kind].weights), { recursive: true });
      await expectLoadError(t, m, `${kind} weights file missing`, kind, dir, e);
    }

    // Unsorted offsets are valid (the reference parser sorts them): the file reads, values intact.
    const unsorted = join(caseDir(), 'unsorted.safetensors');
    writeFileSync(unsorted, safetensorsBytes({ b: t4(4, 8), a: t4(0, 4) }, new Uint8Array(new Float32Array([1.5, -2.5]).buffer)).bytes);
    const { tensors } = await readSafetensors(unsorted);
    const by = Object.fromEntries(tensors.map((x) => [x.name, Array.from(x.data as Float32Array)]));
    t.deepEqual(by, { a: [1.5], b: [-2.5] });

    // The model still runs after all of that.
    const out = await m.predict({ inputIds: new Int32Array([1, 2, 3]), batchSize: 1, seqLen: 3 });
    t.true(out.logits.every(Number.isFinite));
  } finally {
    m.dispose();
  }
});

// ------------------------------------------------------------------ PyTorch .bin: ZIP

const six = new Float32Array([0, 1, 2, 3, 4, 5]);
const sixBytes = new Uint8Array(six.buffer);
/** A torch archive holding `pickle` and one 6-float storage "0". */
const archive = (pickle: Uint8Array, opts: { name?: string; deflate?: Set<string>; storages?: Uint8Array[] } = {}) =>
  zipBytes(torchEntries(opts.name ?? 'archive', pickle, opts.storages ?? [sixBytes], { deflate: opts.deflate })).bytes;
/** A state dict {"w": <value pickled by `inner`>}. */
const dictOf = (inner: (p: Pickle) => Pickle) => inner(new Pickle().proto(2).emptyDict().mark().str('w')).setitems().stop().bytes();
const wPickle = () => stateDictPickle([{ name: 'w', shape: [2, 3] }]);

function patched(z: ZipLayout, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(z.bytes);
  edit(b);
  return b;
}

/** `z` with a ZIP64 end record + locator inserted before its end record. */
function withZip64(z: ZipLayout, o: { entries?: bigint; recordOffset?: bigint }): Buffer {
  const cdSize = z.end - z.centralDirectory;
  const n = BigInt(z.local.length);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(o.entries ?? n, 24);
  rec.writeBigUInt64LE(o.entries ?? n, 32);
  rec.writeBigUInt64LE(BigInt(cdSize), 40);
  rec.writeBigUInt64LE(BigInt(z.centralDirectory), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(o.recordOffset ?? BigInt(z.end), 8);
  loc.writeUInt32LE(1, 16);
  return Buffer.concat([z.bytes.subarray(0, z.end), rec, loc, z.bytes.subarray(z.end)]);
}

interface BinCase {
  name: string;
  bytes: () => Buffer;
  cls: ErrorClass;
  message: RegExp;
  maxGrowthMB?: number;
}

const zipCases: BinCase[] = [
  { name: 'an empty file', bytes: () => Buffer.alloc(0), cls: InvalidFileError, message: /0 bytes is too short for a ZIP archive/ },
  { name: 'text, not a ZIP', bytes: () => Buffer.from('not a zip archive, just some text\n'), cls: InvalidFileError, message: /no ZIP end-of-central-directory record \(not a ZIP archive, or truncated\)/ },
  { name: 'truncated in the first local header', bytes: () => goodBin().bytes.subarray(0, 10), cls: InvalidFileError, message: /10 bytes is too short for a ZIP archive/ },
  { name: 'truncated in a later local header', bytes: () => goodBin().bytes.subarray(0, goodBin().local[2] + 12), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'truncated in an entry\'s data', bytes: () => goodBin().bytes.subarray(0, goodBin().data[3] + 5), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'truncated in the central directory', bytes: () => goodBin().bytes.subarray(0, goodBin().central[1] + 10), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'truncated in the end record', bytes: () => goodBin().bytes.subarray(0, goodBin().end + 10), cls: InvalidFileError, message: /no ZIP end-of-central-directory record/ },
  { name: 'a central directory offset past EOF', bytes: () => patched(goodBin(), (b) => b.writeUInt32LE(b.length + 100, goodBin().end + 16)), cls: InvalidFileError, message: /central directory \[\d+, \+\d+\) lies outside the file/ },
  { name: 'a 4 GiB central directory size', bytes: () => patched(goodBin(), (b) => b.writeUInt32LE(0xfffffff0, goodBin().end + 12)), cls: InvalidFileError, message: /central directory \[\d+, \+4294967280\) lies outside the file/, maxGrowthMB: 64 },
  {
    name: 'an entry count of 65534',
    bytes: () => patched(goodBin(), (b) => {
      b.writeUInt16LE(0xfffe, goodBin().end + 8);
      b.writeUInt16LE(0xfffe, goodBin().end + 10);
    }),
    cls: InvalidFileError,
    message: /65534 entries cannot fit in a central directory of \d+ bytes/,
    maxGrowthMB: 64,
  },
  { name: 'a ZIP64 entry count of 2^60', bytes: () => withZip64(goodBin(), { entries: 2n ** 60n }), cls: InvalidFileError, message: /1152921504606846976 entries cannot fit/, maxGrowthMB: 64 },
  { name: 'a ZIP64 end record offset past EOF', bytes: () => withZip64(goodBin(), { recordOffset: 2n ** 40n }), cls: InvalidFileError, message: /ZIP64 end record offset 1099511627776 lies outside the file/ },
  { name: 'a local header offset past EOF', bytes: () => patched(goodBin(), (b) => b.writeUInt32LE(0x7fffff00, goodBin().central[0] + 42)), cls: InvalidFileError, message: /entry "archive\/data\.pkl": local header offset 2147483392 lies outside the entry area/ },
  {
    name: 'an entry size past EOF',
    bytes: () => patched(goodBin(), (b) => {
      b.writeUInt32LE(0x7fffff00, goodBin().central[2] + 20);
      b.writeUInt32LE(0x7fffff00, goodBin().central[2] + 24);
    }),
    cls: InvalidFileError,
    message: /entry "archive\/data\/0": data \[\d+, \+2147483392\) runs past the entry area/,
    maxGrowthMB: 64,
  },
  { name: 'a local header naming another entry', bytes: () => patched(goodBin(), (b) => (b[goodBin().local[0] + 30] ^= 1)), cls: InvalidFileError, message: /local header names a different entry/ },
  { name: 'an entry twice', bytes: () => zipBytes([...torchEntries('archive', wPickle(), [sixBytes]), { name: 'archive/data/0', data: sixBytes }]).bytes, cls: InvalidFileError, message: /entry "archive\/data\/0" appears twice/ },
  { name: 'no data.pkl', bytes: () => zipBytes(torchEntries('archive', wPickle(), [sixBytes]).slice(1)).bytes, cls: InvalidFileError, message: /no "archive\/data\.pkl" in the archive/ },
  { name: 'path traversal in the archive name', bytes: () => archive(wPickle(), { name: '../../../tmp/af-evil' }), cls: InvalidFileError, message: /no "\.\.\/data\.pkl" in the archive/ },
  { name: 'an absolute archive name', bytes: () => archive(wPickle(), { name: '/tmp/af-evil' }), cls: InvalidFileError, message: /not a torch\.save archive \(first entry "\/tmp\/af-evil\/data\.pkl"\)/ },
  {
    name: 'path traversal in a storage key',
    bytes: () => archive(dictOf((p) => p.tensor('../../../../etc/passwd', 6, [2, 3]))),
    cls: InvalidFileError,
    message: /storage "archive\/data\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is missing from the archive/,
  },
  { name: 'a deflated storage', bytes: () => archive(wPickle(), { deflate: new Set(['archive/data/0']) }), cls: UnsupportedError, message: /storage "archive\/data\/0" is compressed or encrypted/ },
  {
    name: 'a deflated data.pkl',
    bytes: () => zipBytes(torchEntries('archive', wPickle(), [sixBytes]).map((e, i) => (i === 0 ? { ...e, deflate: true } : e))).bytes,
    cls: UnsupportedError,
    message: /entry "archive\/data\.pkl" is compressed \(method 8\)/,
  },
  {
    name: 'a big-endian byteorder record',
    bytes: () => zipBytes(torchEntries('archive', wPickle(), [sixBytes]).map((e) => (e.name.endsWith('/byteorder') ? { ...e, data: Buffer.from('big') } : e))).bytes,
    cls: UnsupportedError,
    message: /big-endian torch archives are not supported/,
  },
];

/** The saved adapter "a" as a torch .bin (built here; read back by the control case). */
let goodBinCache: ZipLayout | null = null;
const goodBin = () => (goodBinCache ??= torchBin(fx.adapterTensors));

// ------------------------------------------------------------------ PyTorch .bin: pickle

const LONG1_2_62 = [0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40]; // LONG1 of 2^62

const pickleCases: BinCase[] = [
  { name: 'GLOBAL os.system', bytes: () => archive(dictOf((p) => p.global('os', 'system').str('touch /tmp/af_malformed_pwned').tuple1().reduce())), cls: UnsupportedError, message: /refused global "os\.system"/ },
  { name: 'GLOBAL posix.system', bytes: () => archive(dictOf((p) => p.global('posix', 'system').str('touch /tmp/af_malformed_pwned').tuple1().reduce())), cls: UnsupportedError, message: /refused global "posix\.system"/ },
  {
    name: 'STACK_GLOBAL builtins.eval',
    bytes: () => archive(new Pickle().proto(4).emptyDict().mark().raw([0x8c, 1]).raw('w').raw([0x8c, 8]).raw('builtins').raw([0x8c, 4]).raw('eval').raw([0x93]).str('1').tuple1().reduce().setitems().stop().bytes()),
    cls: UnsupportedError,
    message: /refused global "builtins\.eval"/,
  },
  { name: 'GLOBAL torch.load', bytes: () => archive(dictOf((p) => p.global('torch', 'load').str('/dev/null').tuple1().reduce())), cls: UnsupportedError, message: /refused global "torch\.load"/ },
  { name: 'REDUCE on a storage type', bytes: () => archive(dictOf((p) => p.global('torch', 'FloatStorage').emptyTuple().reduce())), cls: UnsupportedError, message: /refused call of "torch\.FloatStorage"/ },
  { name: 'REDUCE on a string', bytes: () => archive(dictOf((p) => p.str('os.system').emptyTuple().reduce())), cls: UnsupportedError, message: /REDUCE of a str, not a global/ },
  { name: 'REDUCE of OrderedDict with arguments', bytes: () => archive(dictOf((p) => p.global('collections', 'OrderedDict').str('x').tuple1().reduce())), cls: UnsupportedError, message: /collections\.OrderedDict called with arguments/ },
  { name: 'BUILD setting another attribute', bytes: () => archive(new Pickle().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().emptyDict().str('__class__').none().setitem().build().stop().bytes()), cls: UnsupportedError, message: /BUILD sets an attribute other than _metadata/ },
  { name: 'GET of a missing memo key', bytes: () => archive(dictOf((p) => p.binget(7))), cls: InvalidFileError, message: /memo entry 7 was never stored/ },
  { name: 'GET of memo key 2^32-1', bytes: () => archive(dictOf((p) => p.longBinget(0xffffffff))), cls: InvalidFileError, message: /memo entry 4294967295 was never stored/ },
  { name: 'more than 2^21 MEMOIZEs', bytes: () => archive(new Pickle().proto(4).emptyDict().raw(Buffer.alloc((1 << 21) + 1, 0x94)).stop().bytes()), cls: InvalidFileError, message: /memo larger than 2097152 entries/, maxGrowthMB: 512 },
  { name: '100k nested MARKs', bytes: () => archive(new Pickle().proto(2).raw('('.repeat(DEEP)).none().raw('t'.repeat(DEEP)).stop().bytes()), cls: InvalidFileError, message: /MARK nesting deeper than 1000/ },
  { name: '100k nested 1-tuples', bytes: () => archive(new Pickle().proto(2).none().raw(Buffer.alloc(DEEP, 0x85)).stop().bytes()), cls: UnsupportedError, message: /the pickled object is a tuple, not a state dict/ },
  { name: '100k nested lists', bytes: () => archive(new Pickle().proto(2).raw(']'.repeat(DEEP)).raw('a'.repeat(DEEP - 1)).stop().bytes()), cls: UnsupportedError, message: /the pickled object is a list, not a state dict/ },
  { name: '100k nested lists as a value', bytes: () => archive(dictOf((p) => p.raw(']'.repeat(DEEP)).raw('a'.repeat(DEEP - 1)))), cls: UnsupportedError, message: /value of "w" is a list, not a tensor/ },
  { name: 'a key twice in the state dict', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().str('w').tensor('0', 6, [2, 3]).str('w').tensor('0', 6, [2, 3]).setitems().stop().bytes()), cls: InvalidFileError, message: /tensor "w" appears twice/ },
  { name: 'a key that is not UTF-8', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().strBytes(Buffer.from([0x77, 0xff])).tensor('0', 6, [2, 3]).setitems().stop().bytes()), cls: InvalidFileError, message: /string is not valid UTF-8/ },
  { name: 'a string length past the end', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().str('w', 0xffffffff).stop().bytes()), cls: InvalidFileError, message: /the pickle ends in the middle of an opcode/, maxGrowthMB: 64 },
  { name: 'no STOP', bytes: () => archive(new Pickle().proto(2).emptyDict().mark().str('w').tensor('0', 6, [2, 3]).setitems().bytes()), cls: InvalidFileError, message: /the pickle ends without STOP/ },
  { name: 'an unknown opcode', bytes: () => archive(new Pickle().proto(2).emptyDict().raw([0xff]).stop().bytes()), cls: InvalidFileError, message: /unknown pickle opcode 0xFF/ },
  { name: 'a state dict that is a list', bytes: () => archive(new Pickle().proto(2).emptyList().stop().bytes()), cls: UnsupportedError, message: /the pickled object is a list, not a state dict/ },
  { name: 'an unknown storage type (bad dtype)', bytes: () => archive(dictOf((p) => p.tensor('0', 6, [2, 3], { storageType: 'Float8Storage' }))), cls: UnsupportedError, message: /refused global "torch\.Float8Storage"/ },
  { name: 'a view of 2^60 elements on a 6-element storage', bytes: () => archive(dictOf((p) => p.tensor('0', 6, [2 ** 30, 2 ** 30], { stride: [0, 0] }))), cls: UnsupportedError, message: /view has 1152921504606846976 elements but its storage only 6/, maxGrowthMB: 64 },
  {
    name: 'dimensions whose element count overflows',
    bytes: () =>
      archive(dictOf((p) =>
        p.global('torch._utils', '_rebuild_tensor_v2').mark()
          .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().binpersid()
          .int(0).mark().raw(LONG1_2_62).raw(LONG1_2_62).tuple().ints([1, 1]).bool(false)
          .global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce())),
    cls: InvalidFileError,
    message: /tensor "w": element count overflows 64 bits/,
    maxGrowthMB: 64,
  },
  {
    name: 'a storage of 2^62 elements in a 24-byte entry',
    bytes: () =>
      archive(dictOf((p) =>
        p.global('torch._utils', '_rebuild_tensor_v2').mark()
          .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').raw(LONG1_2_62).tuple().binpersid()
          .int(0).ints([2, 3]).ints([3, 1]).bool(false)
          .global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce())),
    cls: InvalidFileError,
    message: /storage "archive\/data\/0" holds 24 bytes, not 4611686018427387904 F32 elements/,
    maxGrowthMB: 64,
  },
  { name: 'strides past the storage', bytes: () => archive(dictOf((p) => p.tensor('0', 6, [2, 3], { stride: [4, 1] }))), cls: InvalidFileError, message: /view \(offset 0\) addresses element 6 of a storage of 6 elements/ },
];

const MARKER = '/tmp/af_malformed_pwned';

test.serial('PyTorch .bin: malformed ZIP archives and hostile pickles are refused by the loaders; nothing runs; the model unchanged', async (t) => {
  t.timeout(180_000);
  const markerBefore = existsSync(MARKER);
  const m = await target();
  try {
    // The control: the adapter's tensors written here as a torch.save archive load, equal to the safetensors.
    const control = caseDir();
    cpSync(join(src.a, 'adapter_config.json'), join(control, 'adapter_config.json'));
    writeFileSync(join(control, 'pytorch_adapter.bin'), goodBin().bytes);
    const fresh = await target();
    try {
      t.is(await fresh.loadAdapter(control, { loadAs: 'x' }), 'x');
      for (const x of fx.adapterTensors) {
        const name = x.name.replace(/^bert\./, '').replace('.adapters.a.', '.adapters.x.');
        t.deepEqual(await fresh.getParameter(name), x.data, name);
      }
    } finally {
      fresh.dispose();
    }

    const all = [...zipCases.map((c) => ({ ...c, group: 'ZIP' })), ...pickleCases.map((c) => ({ ...c, group: 'pickle' }))];
    for (const [i, c] of all.entries()) {
      // Every case through the adapter loader; every third also through the head and fusion loaders.
      const kinds: Kind[] = i % 3 === 0 ? ['adapter', 'head', 'fusion'] : ['adapter'];
      const bytes = c.bytes();
      const rss0 = rssMB();
      for (const kind of kinds) {
        const dir = caseDir(FILES[kind].src());
        rmSync(join(dir, FILES[kind].weights));
        const bin = join(dir, FILES[kind].bin);
        writeFileSync(bin, bytes);
        await expectLoadError(t, m, `${kind} .bin, ${c.group}: ${c.name}`, kind, dir, { cls: c.cls, message: c.message, path: bin });
      }
      if (c.maxGrowthMB !== undefined) t.true(rssMB() - rss0 < c.maxGrowthMB, `${c.name}: RSS grew by ${Math.round(rssMB() - rss0)} MiB`);
    }
    if (!markerBefore) t.false(existsSync(MARKER), 'a hostile pickle ran code');

    // Accepted on purpose, each harmless: an archive named ".." (entry names are never paths:
    // nothing is extracted) and a memo PUT at index 2^32-1 (the memo is a map, as Python's).
    for (const [name, bytes] of [
      ['an archive named ".."', archive(wPickle(), { name: '..' })],
      ['a memo PUT at 2^32-1', archive(new Pickle().proto(2).emptyDict().longBinput(0xffffffff).mark().str('w').tensor('0', 6, [2, 3]).setitems().stop().bytes())],
    ] as const) {
      const dir = caseDir();
      cpSync(join(src.a, 'adapter_config.json'), join(dir, 'adapter_config.json'));
      writeFileSync(join(dir, 'pytorch_adapter.bin'), bytes);
      // Read (the 6-float "w" is no adapter tensor, so the loader then names what is missing).
      await expectLoadError(t, m, `.bin, ${name} (read, then matched)`, 'adapter', dir, { cls: InvalidFileError, message: /pytorch_adapter\.bin: missing tensor/, path: join(dir, 'pytorch_adapter.bin') });
    }
  } finally {
    m.dispose();
  }
});

// ------------------------------------------------------------------ NaN / Inf weights

test.serial('NaN and Inf weights load, with a warning naming the file and tensor, and predict says the logits are not finite', async (t) => {
  t.timeout(60_000);
  // An adapter whose down-projection bias is NaN, +Inf, -Inf, ...: safetensors and .bin alike.
  const bad = fx.adapterTensors.map((x) =>
    x.name.endsWith('layer.0.output.adapters.a.adapter_down.0.bias') ? { ...x, data: new Float32Array(x.data.length).fill(NaN).fill(Infinity, 1, 2).fill(-Infinity, 2, 3) } : x,
  );
  const st = caseDir(src.a);
  const f = f32Safetensors(bad);
  writeFileSync(join(st, 'adapter.safetensors'), safetensorsBytes(f.header, f.data).bytes);
  const bin = caseDir();
  cpSync(join(src.a, 'adapter_config.json'), join(bin, 'adapter_config.json'));
  writeFileSync(join(bin, 'pytorch_adapter.bin'), torchBin(bad).bytes);
  const input = { inputIds: new Int32Array([1, 2, 3, 4]), batchSize: 1, seqLen: 4 };
  for (const [what, dir, file] of [['adapter.safetensors', st, 'adapter.safetensors'], ['pytorch_adapter.bin', bin, 'pytorch_adapter.bin']] as const) {
    const m = await target();
    try {
      let name = '';
      const warnings = await warningsOf(async () => (name = await m.loadAdapter(dir, { loadAs: 'x' })));
      t.is(name, 'x', `${what}: loads`);
      t.is(warnings.length, 1, `${what}: one warning`);
      t.is(warnings[0]?.code, 'AF_NON_FINITE_WEIGHTS');
      t.true(warnings[0]?.message.includes(join(dir, file)), `${what}: the warning names the file: ${warnings[0]?.message}`);
      t.regex(warnings[0]?.message ?? '', /adapter_down\.0\.bias" holds NaN or Infinity/);
      const v = await m.getParameter('encoder.layer.0.output.adapters.x.adapter_down.0.bias');
      t.true(Number.isNaN(v[0]) && v[1] === Infinity && v[2] === -Infinity, `${what}: values kept as they are`);
      await m.setActiveAdapters('x', { head: 'keep' });
      const out = await m.predict(input);
      t.false(out.logits.some(Number.isFinite), `${what}: the logits are not finite`);
    } finally {
      m.dispose();
    }
  }
  // The CLI: the load warning, then a warning that the logits are not finite, and no label.
  const r = await cli(['predict', '--model', src.model, '--adapter', st, '--head', src.h, '--input', writeInput(caseDir(), '{"input_ids":[1,2,3]}\n')]);
  t.is(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout) as { logits: unknown[]; label: unknown };
  t.deepEqual(line.logits, [null, null, null]);
  t.is(line.label, null);
  t.regex(r.stderr, /AF_NON_FINITE_WEIGHTS/);
  t.regex(r.stderr, /line 1: the logits are not finite \(NaN or Infinity\), so no label is given/);

  // The base model's weights: loadModel warns and lists the tensors in loadReport().
  const ckpt = caseDir(src.model);
  const { tensors } = await readSafetensors(join(ckpt, 'model.safetensors'));
  const g = f32Safetensors(tensors.map((x) => ({ name: x.name, shape: x.shape, data: x.name === 'embeddings.LayerNorm.weight' ? new Float32Array(x.data.length).fill(NaN) : (x.data as Float32Array) })));
  writeFileSync(join(ckpt, 'model.safetensors'), safetensorsBytes(g.header, g.data).bytes);
  let m: Awaited<ReturnType<typeof loadModel>> | undefined;
  const warnings = await warningsOf(async () => (m = await loadModel(ckpt)));
  try {
    t.deepEqual(m!.loadReport().nonFinite, ['embeddings.LayerNorm.weight']);
    t.is(warnings.length, 1);
    t.true(warnings[0]?.message.includes(join(ckpt, 'model.safetensors')), warnings[0]?.message);
    const out = await m!.forward(input);
    t.false(out.lastHiddenState.some(Number.isFinite), 'model.safetensors with a NaN LayerNorm weight: the hidden states are NaN');
  } finally {
    m?.dispose();
  }
});
