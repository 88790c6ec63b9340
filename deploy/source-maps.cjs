// esbuild plugins for serverless-esbuild (custom.esbuild.plugins in serverless.yml).
const { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/**
 * Takes each function's source map out of its zip and writes it beside the package, in
 * `source-maps/` (for example `.serverless/source-maps/functions/intake.mjs.map`): Lambda never
 * loads it (Node's --enable-source-maps parsed 3 MB of maps at every cold start, 12-16 ms), and a
 * stack trace from the logs is mapped back with it offline (README.md, "Reading a stack trace").
 * Its sources are renamed relative to the repository, so a mapped frame reads
 * `functions/lib/erasure/settings.ts:120`.
 */
module.exports = (serverless) => {
  const serviceDir = serverless.serviceDir;
  const esbuild = serverless.service.custom?.esbuild ?? {};
  // serverless-esbuild zips into <work folder>/.serverless, and that whole folder becomes the package.
  const mapsDir = path.join(serviceDir, esbuild.outputWorkFolder ?? '.esbuild', '.serverless', 'source-maps');
  return [
    {
      name: 'source-maps-beside-the-package',
      setup(build) {
        build.onEnd((result) => {
          if (result.errors.length > 0) return;
          const { entryPoints, outdir, outExtension } = build.initialOptions;
          for (const entry of entryPoints) {
            const bundle = path.join(outdir, `${path.parse(entry).name}${outExtension?.['.js'] ?? '.js'}`);
            const map = `${bundle}.map`;
            if (!existsSync(map)) continue;
            const sourceMap = JSON.parse(readFileSync(map, 'utf8'));
            sourceMap.sources = sourceMap.sources.map((source) => path.relative(serviceDir, path.resolve(outdir, source)));
            const target = path.join(mapsDir, path.relative(serviceDir, path.resolve(serviceDir, path.dirname(entry))), path.basename(map));
            mkdirSync(path.dirname(target), { recursive: true });
            writeFileSync(target, JSON.stringify(sourceMap));
            rmSync(map);
          }
        });
      },
    },
  ];
};
