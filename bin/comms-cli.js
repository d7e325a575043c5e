#!/usr/bin/env node
// The bin stays small: all work (and all loading cost) lives in dist/, chosen lazily per command.
import module from 'node:module';

// Node >= 22.1 can cache compiled code between runs (a one-shot CLI compiles the same code every
// time); on Node 20 this is absent and nothing happens.
module.enableCompileCache?.();
await import('../dist/bundle/main.js');
