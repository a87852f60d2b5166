// dump.cjs prints one Parquet file as parquet-wasm (arrow-rs) reads it: a
// line per column with the Arrow type it reads as, then a JSON line per row
// (64-bit integers as strings, binary as hex, lists as arrays).
//
//   node dump.cjs <node_modules dir> <file.parquet>
'use strict';
const path = require('path');
const fs = require('fs');
const [modules, file] = process.argv.slice(2);
const pw = require(path.join(modules, 'parquet-wasm', 'node', 'parquet_wasm.js'));
const arrow = require(path.join(modules, 'apache-arrow', 'Arrow.node.js'));
const table = arrow.tableFromIPC(pw.readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
for (const f of table.schema.fields) console.log('column', f.name, String(f.type));
const plain = (k, v) => typeof v === 'bigint' ? v.toString() : (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);
for (const row of table) {
  const o = Object.fromEntries(Object.entries(row.toJSON()).map(([k, v]) => [k, v && v.toArray ? Array.from(v) : v]));
  console.log(JSON.stringify(o, plain));
}
