#!/usr/bin/env node
// The bin stays small: all work (and all loading cost) lives in dist/, chosen lazily per command.
// CommonJS (bin/package.json), like the loader it requires: a one-shot run never starts Node's ESM
// loader, which costs 40-60 ms of start-up (bench/RESULTS.md).
'use strict';

// Node >= 22.1 can cache compiled code between runs (a one-shot CLI compiles the same code every
// time). Asked only there: on Node 20 node:module has no such cache, and loading it loads the ESM loader.
if (Number(process.versions.node.split('.')[0]) >= 22) require('node:module').enableCompileCache?.();
require('../dist/bundle/main.cjs');
