#!/usr/bin/env node
// Maps a stack trace from a deployed function's logs back to the repository's sources, with the
// source maps `osls package` wrote beside the package (deploy/source-maps.cjs):
//
//   node deploy/map-stack-trace.js .serverless/source-maps < trace.txt
//
// A frame such as `at Ie (file:///var/task/functions/intake.mjs:2:81234)` becomes
// `at Ie (functions/lib/erasure/closure-event.ts:97:11)`; a frame no map covers is left as it is.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';

const mapsDir = process.argv[2];
if (!mapsDir || !existsSync(mapsDir)) {
  process.stderr.write('usage: node deploy/map-stack-trace.js <package dir>/source-maps < trace.txt\n');
  process.exit(2);
}

const maps = new Map();
function sourceMapOf(bundle) {
  if (!maps.has(bundle)) {
    const file = join(mapsDir, `${bundle}.map`);
    maps.set(bundle, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null);
  }
  return maps.get(bundle);
}

// Lambda unpacks a zip into /var/task, so a bundle's path there is its path in the zip and under source-maps/.
const FRAME = /(?:file:\/\/)?\/var\/task\/([^\s:()]+\.m?js):(\d+):(\d+)/g;

const trace = readFileSync(0, 'utf8');
process.stdout.write(
  trace.replace(FRAME, (frame, bundle, line, column) => {
    const origin = sourceMapOf(bundle)?.findOrigin(Number(line), Number(column));
    if (!origin || !origin.fileName) return frame;
    return `${origin.fileName}:${origin.lineNumber}:${origin.columnNumber}`;
  }),
);
