import { en } from 'zod/locales';
import * as z from 'zod/mini';

/**
 * zod/mini, the schema library every function parses with: zod 4's tree-shakable API (classic zod
 * put 450 KB of minified code in each bundle, whatever a function used). Import it as a namespace,
 * `import * as z from '.../runtime/zod.ts'`, so esbuild keeps only what is called.
 *
 * zod/mini loads no locale, and every issue would read "Invalid input": the English one names what
 * was expected, and it reaches the dead-letter reasons and settings refusals people read.
 * `jitless`: by default zod compiles each object schema into a function (new Function) the first
 * time it parses; a Lambda instance parses each schema once per invocation, and that compiling
 * cost about 5 ms of every cold start (the settings read at init, then the first event).
 */
z.config({ ...en(), jitless: true });

export * from 'zod/mini';
