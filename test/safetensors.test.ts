// The safetensors reader through the public API: round trips of every writable dtype, and
// every malformed-file kind rejected with InvalidFileError naming the file (and tensor).
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidFileError, IoError, readSafetensors, writeSafetensors } from '../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'af-st-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// A file from a header object (or raw header text) and a data section.
function file(name: string, header: unknown, data: Uint8Array | number = 0, opts: { lengthOverride?: bigint } = {}): string {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.lengthOverride ?? BigInt(h.length));
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, h, body]));
  return path;
}

const t4 = (begin: number, end: number, shape = [1], dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });

const malformed: [string, () => string, RegExp][] = [
  ['shorter than 8 bytes', () => { const p = join(dir, 'short'); writeFileSync(p, Buffer.from([1, 2, 3])); return p; }, /short/],
  ['a header length over 100 MB', () => file('huge', {}, 0, { lengthOverride: 100_000_001n }), /huge/],
  ['a header past the end of the file', () => file('past', {}, 0, { lengthOverride: 4096n }), /past/],
  ['a header that is not UTF-8', () => { const p = file('utf8', '{"a":1}'); const b = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x7b, 0x7d]); writeFileSync(p, b); return p; }, /utf8/],
  ['a header that is not JSON', () => file('notjson', '{"a": [1, 2'), /notjson/],
  ['a header that is not an object', () => file('array', '[1, 2, 3]'), /array/],
  ['an entry without data_offsets', () => file('nooffsets', { w: { dtype: 'F32', shape: [1] } }, 4), /nooffsets.*"w"/],
  ['an entry with an extra field', () => file('extra', { w: { ...t4(0, 4), extra: 1 } }, 4), /extra.*"w"/],
  ['an entry with a string shape', () => file('strshape', { w: { dtype: 'F32', shape: '1', data_offsets: [0, 4] } }, 4), /strshape.*"w"/],
  ['an unknown dtype', () => file('dtype', { w: t4(0, 4, [1], 'F17') }, 4), /dtype.*"w"/],
  ['a negative shape', () => file('negshape', { w: t4(0, 4, [-1]) }, 4), /negshape.*"w"/],
  ['a fractional shape', () => file('fracshape', { w: t4(0, 4, [1.5]) }, 4), /fracshape.*"w"/],
  ['a byte range that disagrees with the shape', () => file('size', { w: t4(0, 8, [1]) }, 8), /size.*"w"/],
  ['begin after end', () => file('order', { w: t4(4, 0, [0]) }, 4), /order.*"w"/],
  ['a gap between tensors', () => file('gap', { a: t4(0, 4), b: t4(8, 12) }, 12), /gap/],
  ['overlapping tensors', () => file('overlap', { a: t4(0, 8, [2]), b: t4(4, 8) }, 8), /overlap/],
  ['data ending before the end of the file', () => file('trailing', { a: t4(0, 4) }, 8), /trailing/],
  ['data running past the end of the file', () => file('truncated', { a: t4(0, 8, [2]) }, 4), /truncated/],
  ['duplicate tensor names', () => file('dup', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /dup.*"a"/],
  ['a non-string metadata value', () => file('meta', { __metadata__: { k: 1 }, a: t4(0, 4) }, 4), /meta/],
  ['a shape whose element count overflows', () => file('overflow', { a: t4(0, 4, [2 ** 32, 2 ** 32, 2 ** 10]) }, 4), /overflow.*"a"/],
  ['offsets beyond 2^64', () => file('bigoffset', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551620]}}', 4), /bigoffset.*"a"/],
];

for (const [what, make, message] of malformed) {
  test(`readSafetensors rejects ${what}`, async (t) => {
    await t.throwsAsync(readSafetensors(make()), { instanceOf: InvalidFileError, message });
  });
}

test('readSafetensors: a missing file is an IoError', async (t) => {
  await t.throwsAsync(readSafetensors(join(dir, 'nope.safetensors')), { instanceOf: IoError });
});

test('writeSafetensors round-trips every writable dtype with metadata', async (t) => {
  const path = join(dir, 'round.safetensors');
  const f32 = new Float32Array([0, -1.5, 3.25, 1e-8, -65504, Infinity]);
  await writeSafetensors(
    path,
    [
      { name: 'f32', dtype: 'F32', shape: [2, 3], data: f32 },
      { name: 'f16', dtype: 'F16', shape: [6], data: f32 },
      { name: 'bf16', dtype: 'BF16', shape: [3, 2], data: f32 },
      { name: 'i32', dtype: 'I32', shape: [3], data: new Int32Array([-7, 0, 2 ** 31 - 1]) },
      { name: 'i64', dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    ],
    { format: 'pt', note: 'héllo' },
  );
  const { tensors, metadata } = await readSafetensors(path);
  t.deepEqual(metadata, { format: 'pt', note: 'héllo' });
  const by = Object.fromEntries(tensors.map((x) => [x.name, x]));
  t.deepEqual([...(by.f32.data as Float32Array)], [...f32]);
  t.deepEqual(by.f32.shape, [2, 3]);
  // F16: 1e-8 is below the smallest half subnormal/2 → 0; the rest are exact in half.
  t.deepEqual([...(by.f16.data as Float32Array)], [0, -1.5, 3.25, 0, -65504, Infinity]);
  t.is(by.bf16.dtype, 'BF16');
  t.deepEqual([...(by.bf16.data as Float32Array)].slice(0, 3), [0, -1.5, 3.25]);
  t.deepEqual([...(by.i32.data as Int32Array)], [-7, 0, 2 ** 31 - 1]);
  t.deepEqual([...(by.i64.data as BigInt64Array)], [-(2n ** 62n), 5n]);
  t.deepEqual(by.empty.shape, [0, 4]);
});

test('writeSafetensors is atomic: a failed write leaves the old file and no temp files', async (t) => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const path = join(sub, 'w.safetensors');
  await writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
  // Writing a directory's path fails; writing with a duplicate name fails before touching disk.
  await t.throwsAsync(writeSafetensors(sub, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([2]) }]));
  await t.throwsAsync(
    writeSafetensors(path, [
      { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    ]),
  );
  await t.throwsAsync(writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([2]) }]), { instanceOf: TypeError });
  const { tensors } = await readSafetensors(path);
  t.deepEqual([...(tensors[0].data as Float32Array)], [1]);
  t.deepEqual(readdirSync(sub), ['w.safetensors']);
});
