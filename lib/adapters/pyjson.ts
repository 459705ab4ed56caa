// JSON as Python's `json` module reads and writes it. AdapterHub's config files are written by
// `json.dump(obj, f, indent=2, sort_keys=True)` and read back by `json.load`, which tells floats
// from ints (`1.0` vs `1`) — and AdapterHub type-checks some fields as float
// (`isinstance(config["scaling"], float)`). JavaScript's JSON.parse/stringify lose that
// distinction, so config files go through this small parser/serializer instead:
//
//   parsePy(text)   strict RFC 8259; numbers with a fraction or exponent become PyFloat, the
//                   others PyInt (exact, as bigint); objects keep the last of duplicate keys
//                   (as Python does).
//   dumpPy(value)   json.dumps(value, indent=2, sort_keys=True) byte for byte: ensure_ascii
//                   escapes, float repr (`1.0`, `0.0001`, `1e-05`), ", " / ": " separators.
//   dumpPyCompact   the same without whitespace (for handing a config to the native core).

/** A JSON number Python reads as int. */
export class PyInt {
  constructor(readonly value: bigint) {}
}

/** A JSON number Python reads as float. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A JSON object (a Python dict). Map, so that keys such as "__proto__" stay plain keys. */
export class PyObject {
  readonly entries = new Map<string, PyJson>();
  get(key: string): PyJson | undefined {
    return this.entries.get(key);
  }
  has(key: string): boolean {
    return this.entries.has(key);
  }
  set(key: string, value: PyJson): this {
    this.entries.set(key, value);
    return this;
  }
  keys(): string[] {
    return [...this.entries.keys()];
  }
}

export type PyJson = null | boolean | string | PyInt | PyFloat | PyJson[] | PyObject;

/** Thrown by parsePy; the message gives the character offset of the problem. */
export class PyJsonSyntaxError extends Error {}

const MAX_DEPTH = 256;

/** Parses JSON text strictly (no NaN/Infinity, no comments, no trailing commas, no BOM). */
export function parsePy(text: string): PyJson {
  let pos = 0;

  const fail = (what: string): never => {
    throw new PyJsonSyntaxError(`${what} at character ${pos}`);
  };
  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else break;
    }
  };

  const parseString = (): string => {
    // text[pos] === '"'
    pos++;
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      pos++;
      const e = text[pos];
      pos++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          pos--;
          fail('bad escape');
      }
      start = pos;
    }
  };

  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
  const parseNumber = (): PyInt | PyFloat => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail('bad number');
    pos += m[0].length;
    if (m[1] === undefined && m[2] === undefined) return new PyInt(BigInt(m[0]));
    const v = Number(m[0]);
    if (!Number.isFinite(v)) fail('number out of range');
    return new PyFloat(v);
  };

  const parseValue = (depth: number): PyJson => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    ws();
    if (pos >= text.length) fail('unexpected end of input');
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj = new PyObject();
      ws();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a string key');
        const key = parseString();
        ws();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        obj.set(key, parseValue(depth + 1));
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const arr: PyJson[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    if (c === '-' || (c >= '0' && c <= '9')) return parseNumber();
    return fail(`unexpected character ${JSON.stringify(c)}`);
  };

  if (text.charCodeAt(0) === 0xfeff) fail('byte order mark (Python\'s json rejects it)');
  const value = parseValue(0);
  ws();
  if (pos !== text.length) fail('unexpected data after the JSON value');
  return value;
}

/** Python's repr(float): the shortest round-trip digits; exponent form below 1e-4 and from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mant, expText] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expText); // x = d.ddd × 10^exp
  const decpt = exp + 1; // x = 0.dddd × 10^decpt (CPython's convention)
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
}

/** Python's json string encoding with ensure_ascii=True. */
export function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

// Python's sort_keys compares str by code point; JS's default sort compares UTF-16 units.
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function dumpTo(value: PyJson, indent: number | null, level: number, out: string[]): void {
  if (value === null) out.push('null');
  else if (value === true) out.push('true');
  else if (value === false) out.push('false');
  else if (typeof value === 'string') out.push(pyString(value));
  else if (value instanceof PyInt) out.push(value.value.toString());
  else if (value instanceof PyFloat) out.push(pyFloatRepr(value.value));
  else if (Array.isArray(value) || value instanceof PyObject) {
    const isArray = Array.isArray(value);
    const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
    const items: [string | null, PyJson][] = isArray
      ? value.map((v) => [null, v] as [null, PyJson])
      : value.keys().sort(compareCodePoints).map((k) => [k, value.get(k)!] as [string, PyJson]);
    if (items.length === 0) {
      out.push(open + close);
      return;
    }
    const nl = indent === null ? '' : '\n' + ' '.repeat(indent * (level + 1));
    const nlClose = indent === null ? '' : '\n' + ' '.repeat(indent * level);
    out.push(open);
    items.forEach(([k, v], i) => {
      if (i > 0) out.push(',');
      out.push(nl);
      if (k !== null) out.push(pyString(k), indent === null ? ':' : ': ');
      dumpTo(v, indent, level + 1, out);
    });
    out.push(nlClose, close);
  } else {
    throw new TypeError(`dumpPy: not a JSON value: ${String(value)}`);
  }
}

/** json.dumps(value, indent=2, sort_keys=True): what AdapterHub writes (no trailing newline). */
export function dumpPy(value: PyJson): string {
  const out: string[] = [];
  dumpTo(value, 2, 0, out);
  return out.join('');
}

/** Compact, sorted JSON text (floats stay floats). */
export function dumpPyCompact(value: PyJson): string {
  const out: string[] = [];
  dumpTo(value, null, 0, out);
  return out.join('');
}

// ------------------------------------------------------------------ building and inspecting

/** Converts a plain JS value: integers become PyInt, other numbers PyFloat. */
export function toPy(value: unknown): PyJson {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof PyInt || value instanceof PyFloat || value instanceof PyObject) return value;
  if (typeof value === 'bigint') return new PyInt(value);
  if (typeof value === 'number') return Number.isInteger(value) ? new PyInt(BigInt(value)) : new PyFloat(value);
  if (Array.isArray(value)) return value.map(toPy);
  if (typeof value === 'object') {
    const obj = new PyObject();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) obj.set(k, toPy(v));
    return obj;
  }
  throw new TypeError(`toPy: cannot represent ${typeof value} in JSON`);
}

/** A PyInt/PyFloat as a JS number; undefined for anything else. */
export function pyNumber(value: PyJson | undefined): number | undefined {
  if (value instanceof PyInt) return Number(value.value);
  if (value instanceof PyFloat) return value.value;
  return undefined;
}

/** Python's type name of a value (for messages). */
export function pyTypeName(value: PyJson | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'str';
  if (value instanceof PyInt) return 'int';
  if (value instanceof PyFloat) return 'float';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}
