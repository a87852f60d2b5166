// read.cjs reads one Parquet file with parquet-wasm (arrow-rs compiled to
// WebAssembly) and prints, as one JSON object on stdout, its schema as the
// footer declares it (decoded here from the Thrift bytes, independently of
// any Go code), every column chunk's encodings and codec as arrow-rs reports
// them, and every value as arrow-rs decodes it.
//
//   node read.cjs <node_modules dir> <file.parquet> [digestOver]
//
// Values are JSON strings or null, in a canonical form per Arrow type (see
// wasmcheck.go); a string or binary value longer than digestOver bytes is
// printed as {"len":n,"sha256":hex} instead.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [modules, file, digestArg] = process.argv.slice(2);
const pw = require(path.join(modules, 'parquet-wasm', 'node', 'parquet_wasm.js'));
const arrow = require(path.join(modules, 'apache-arrow', 'Arrow.node.js'));
const digestOver = digestArg ? Number(digestArg) : Infinity;

const buf = fs.readFileSync(file);
if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'PAR1' || buf.toString('latin1', buf.length - 4) !== 'PAR1') {
  throw new Error(`${file}: not a Parquet file`);
}
const footerLen = buf.readUInt32LE(buf.length - 8);

// Minimal Thrift compact-protocol decoder: a struct becomes {fieldId: value}.
function Reader(b) { this.b = b; this.p = 0; }
Reader.prototype.byte = function () { return this.b[this.p++]; };
Reader.prototype.varint = function () {
  let r = 0n, s = 0n, x;
  do { x = this.byte(); r |= BigInt(x & 0x7f) << s; s += 7n; } while (x & 0x80);
  return r;
};
Reader.prototype.zigzag = function () { const v = this.varint(); return (v >> 1n) ^ -(v & 1n); };
Reader.prototype.bytes = function () {
  const n = Number(this.varint());
  const v = this.b.subarray(this.p, this.p + n); this.p += n; return v;
};
function thriftValue(r, t) {
  switch (t) {
    case 1: return true; case 2: return false; // booleans inside a struct
    case 3: return r.byte() << 24 >> 24;
    case 4: case 5: return Number(r.zigzag());
    case 6: return r.zigzag(); // i64 stays BigInt
    case 7: { const v = r.b.readDoubleLE(r.p); r.p += 8; return v; }
    case 8: return r.bytes();
    case 9: case 10: {
      const h = r.byte(); let n = h >> 4; const et = h & 15;
      if (n === 15) n = Number(r.varint());
      const out = [];
      for (let i = 0; i < n; i++) out.push(et === 1 || et === 2 ? r.byte() === 1 : thriftValue(r, et));
      return out;
    }
    case 11: {
      const n = Number(r.varint()); const out = [];
      if (n > 0) { const kv = r.byte(); for (let i = 0; i < n; i++) out.push([thriftValue(r, kv >> 4), thriftValue(r, kv & 15)]); }
      return out;
    }
    case 12: return thriftStruct(r);
    default: throw new Error(`thrift: unknown type ${t}`);
  }
}
function thriftStruct(r) {
  const s = {}; let last = 0;
  for (;;) {
    const h = r.byte(); if (h === 0) return s;
    const t = h & 15; const d = h >> 4;
    const id = d ? last + d : Number(r.zigzag());
    s[id] = thriftValue(r, t); last = id;
  }
}

const footer = thriftStruct(new Reader(buf.subarray(buf.length - 8 - footerLen, buf.length - 8)));

const PHYSICAL = ['BOOLEAN', 'INT32', 'INT64', 'INT96', 'FLOAT', 'DOUBLE', 'BYTE_ARRAY', 'FIXED_LEN_BYTE_ARRAY'];
const REPETITION = ['REQUIRED', 'OPTIONAL', 'REPEATED'];
const ENCODING = ['PLAIN', 'GROUP_VAR_INT', 'PLAIN_DICTIONARY', 'RLE', 'BIT_PACKED', 'DELTA_BINARY_PACKED',
  'DELTA_LENGTH_BYTE_ARRAY', 'DELTA_BYTE_ARRAY', 'RLE_DICTIONARY', 'BYTE_STREAM_SPLIT'];
const CODEC = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'];
const CONVERTED = ['UTF8', 'MAP', 'MAP_KEY_VALUE', 'LIST', 'ENUM', 'DECIMAL', 'DATE', 'TIME_MILLIS', 'TIME_MICROS',
  'TIMESTAMP_MILLIS', 'TIMESTAMP_MICROS', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64', 'INT_8', 'INT_16', 'INT_32',
  'INT_64', 'JSON', 'BSON', 'INTERVAL'];
const str = (b) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));
const unit = (u) => (u[1] ? 'MILLIS' : u[2] ? 'MICROS' : 'NANOS');

function logical(l) {
  if (!l) return '';
  if (l[1]) return 'STRING'; if (l[2]) return 'MAP'; if (l[3]) return 'LIST'; if (l[4]) return 'ENUM';
  if (l[5]) return `DECIMAL(${l[5][2]},${l[5][1]})`; if (l[6]) return 'DATE';
  if (l[7]) return `TIME(${unit(l[7][2])},${l[7][1]})`; if (l[8]) return `TIMESTAMP(${unit(l[8][2])},${l[8][1]})`;
  if (l[10]) return `INTEGER(${l[10][1]},${l[10][2]})`; if (l[11]) return 'NULL'; if (l[12]) return 'JSON';
  if (l[13]) return 'BSON'; if (l[14]) return 'UUID'; if (l[15]) return 'FLOAT16';
  return 'UNKNOWN';
}

// Leaf columns, in file order (no nested groups: the root's children).
const columns = (footer[2] || []).slice(1).map((e) => ({
  name: str(e[4]),
  physical: e[1] === undefined ? 'GROUP' : PHYSICAL[e[1]],
  typeLength: e[2] || 0,
  repetition: REPETITION[e[3]],
  converted: e[6] === undefined ? '' : CONVERTED[e[6]],
  logical: logical(e[10]),
}));
const hex = (b) => (b === undefined ? null : Buffer.from(b).toString('hex'));
const rowGroups = (footer[4] || []).map((rg) => ({
  numRows: Number(rg[3]),
  columns: (rg[1] || []).map((cc) => {
    const m = cc[3]; const st = m[12] || {};
    return {
      encodings: m[2].map((e) => ENCODING[e]),
      codec: CODEC[m[4]],
      numValues: Number(m[5]),
      uncompressedBytes: Number(m[6]),
      compressedBytes: Number(m[7]),
      hasDictionaryPage: m[11] !== undefined,
      nullCount: st[3] === undefined ? null : Number(st[3]),
      min: hex(st[6]), max: hex(st[5]),
    };
  }),
}));

// Values, as arrow-rs decodes them.
const table = arrow.tableFromIPC(pw.readParquet(buf).intoIPCStream());
const fatal = new TextDecoder('utf-8', { fatal: true });
function bytesOut(b, asString) {
  if (b.length > digestOver) return { len: b.length, sha256: crypto.createHash('sha256').update(b).digest('hex') };
  return asString ? fatal.decode(b) : Buffer.from(b).toString('hex');
}
function decimalString(words, at, stride, scale) {
  let v = 0n;
  for (let k = stride - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[at * stride + k] >>> 0);
  const bits = BigInt(stride * 32);
  if (v >> (bits - 1n)) v -= 1n << bits;
  const neg = v < 0n; let s = (neg ? -v : v).toString();
  if (scale > 0) { s = s.padStart(scale + 1, '0'); s = `${s.slice(0, -scale)}.${s.slice(-scale)}`; }
  return neg ? `-${s}` : s;
}
function floatString(x) { return Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : String(x); }

const fields = table.schema.fields;
const out = fields.map(() => []);
fields.forEach((f, c) => {
  const t = f.type;
  for (const d of table.getChildAt(c).data) {
    if (d.offset !== 0) throw new Error(`column ${f.name}: sliced Arrow data is not handled by read.cjs`);
    for (let i = 0; i < d.length; i++) {
      if (d.nullBitmap && d.nullCount !== 0 && !((d.nullBitmap[i >> 3] >> (i & 7)) & 1)) { out[c].push(null); continue; }
      let v;
      if (arrow.DataType.isDecimal(t)) v = decimalString(d.values, i, t.bitWidth / 32, t.scale);
      else if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t) || arrow.DataType.isBinary(t) || arrow.DataType.isLargeBinary(t)) {
        const o = d.valueOffsets; v = bytesOut(d.values.subarray(Number(o[i]), Number(o[i + 1])), arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t));
      } else if (arrow.DataType.isFixedSizeBinary(t)) v = bytesOut(d.values.subarray(i * t.byteWidth, (i + 1) * t.byteWidth), false);
      else if (arrow.DataType.isBool(t)) v = String(((d.values[i >> 3] >> (i & 7)) & 1) === 1);
      else if (arrow.DataType.isFloat(t)) v = floatString(d.values[i]);
      else if (arrow.DataType.isInt(t) || arrow.DataType.isTimestamp(t) || arrow.DataType.isDate(t)) v = String(d.values[i]);
      else throw new Error(`column ${f.name}: arrow type ${t} is not handled by read.cjs`);
      out[c].push(v);
    }
  }
});

const kv = {};
for (const e of footer[5] || []) kv[str(e[1])] = str(e[2]);
process.stdout.write(JSON.stringify({
  createdBy: str(footer[6]),
  numRows: Number(footer[3]),
  keyValue: kv,
  columns: columns.map((col, c) => ({ ...col, arrow: fields[c] ? String(fields[c].type) : '' })),
  rowGroups,
  values: out,
}));
