// Package wasmcheck reads Parquet files back with parquet-wasm, the npm
// package of arrow-rs (the Rust Parquet implementation) compiled to
// WebAssembly, run under Node, for tests. It is the second independent
// reader next to DuckDB (internal/duckcheck): neither shares code with
// parquet-go, and they share none with each other, so a file both read
// identically is a file readers agree on, not one a single decoder happens
// to accept. It is imported only by _test.go files.
//
// [Read] runs read.cjs (embedded) with node, which decodes the footer's
// Thrift itself (schema with physical, converted and logical types, each
// column chunk's encodings, codec, sizes and statistics) and every value as
// arrow-rs decodes it, and returns them as a [File]. Values come back in one
// canonical Go form per type (see [Value]); [ReadDigest] replaces large
// byte arrays by their SHA-256 so a test of a 200 MB value does not push it
// through JSON.
//
// # Installation
//
// `make tools` installs parquet-wasm and apache-arrow with `npm ci` into
// $(go env GOPATH)/lib/snapexport-node (SNAPEXPORT_NODE_MODULES overrides
// the node_modules directory), outside the module, at the versions and
// integrity hashes of node/package-lock.json; [ParquetWasmVersion] and
// [ApacheArrowVersion] must match node/package.json. When node or the
// packages are missing, Read skips the test with a message saying so, and
// fails it instead under SNAPEXPORT_REQUIRE_INTEGRATION=1 (CI: .ci/run runs
// `make tools` and checks the install).
//
// To upgrade: edit node/package.json, run
// `npm install --package-lock-only --prefix internal/wasmcheck/node`, and
// update the version constants.
package wasmcheck
