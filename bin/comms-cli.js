#!/usr/bin/env node
// The bin stays one import: all work (and all loading cost) lives in dist/, chosen lazily per command.
import '../dist/bundle/main.js';
