// Bun's globals and bun:test for `deno check` of tests/ and scripts/ (tests/typecheck_test.ts): listed with them on
// the command line, this brings bun-types into the whole program without a second deno config.
/// <reference types="bun-types" />
