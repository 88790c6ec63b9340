#!/usr/bin/env node
// The `erasure` ops command. Node 22 runs the TypeScript sources directly (type stripping); the
// project pins Node 22, which `npx` and npm scripts put first on the PATH.
import '../cli/erasure.ts';
