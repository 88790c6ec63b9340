import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { functionEnvironment } from '../test/support/settings.ts';

const run = promisify(execFile);
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BundleMeasure {
  /** The function's name in serverless.yml, as its zip is named. */
  name: string;
  /** The size of the function's zip, as uploaded to Lambda. */
  bytes: number;
  /**
   * Cold import time of the bundle's handler module over that of the baseline (a one-line handler
   * importing only the same AWS SDK clients): the median of the ratios of pairs imported back to
   * back, so that a machine busy with something else slows both sides of each ratio alike. The
   * baseline imports the clients without constructing them: the function's own `new KMSClient()`
   * and the like at module scope count against it.
   */
  initRatio: number;
  /** Median cold import time of the bundle, milliseconds. */
  initMs: number;
  /** Median cold import time of the baseline, milliseconds. */
  baselineMs: number;
}

export interface MeasureBundlesOptions {
  /** A directory `osls package --package` wrote; packaged afresh (stage `test`) into a temporary one when absent. */
  packageDir?: string;
  /** Cold imports of each module; the median is kept. */
  repetitions?: number;
}

interface PackagedFunction {
  name: string;
  zip: string;
  /** `functions/intake.handler` → `functions/intake`. */
  module: string;
  environment: Record<string, string>;
}

/**
 * What each function costs to ship and to start: its zip's size, and how much slower its handler
 * module is to import cold than the AWS SDK clients it uses would be on their own. Every import
 * runs in a fresh Node 22 process, bundle and baseline interleaved, so both see the same machine.
 */
export async function measureBundles(options: MeasureBundlesOptions = {}): Promise<BundleMeasure[]> {
  const repetitions = options.repetitions ?? 9;
  const workDir = mkdtempSync(join(tmpdir(), 'erasure-bundles-'));
  try {
    const packageDir = options.packageDir ?? (await packageInto(join(workDir, 'package')));
    const functions = packagedFunctions(packageDir);
    const buildOptions = packagedBuildOptions(packageDir);
    const node = node22();

    const modules = [];
    for (const fn of functions) {
      const unpacked = join(workDir, fn.name);
      unzip(fn.zip, unpacked);
      const baseline = join(workDir, `${fn.name}-baseline`, `handler${buildOptions.outExtension?.['.js'] ?? '.mjs'}`);
      await buildBaseline(fn, buildOptions, baseline);
      modules.push({ fn, bundle: join(unpacked, `${fn.module}${buildOptions.outExtension?.['.js'] ?? '.mjs'}`), baseline, bundleTimes: [] as number[], baselineTimes: [] as number[], ratios: [] as number[] });
    }

    const restorePriority = importAhead();
    try {
      for (let repetition = 0; repetition < repetitions; repetition++) {
        for (const measured of modules) {
          // Alternate which goes first, so neither always runs on a machine the other just warmed.
          const bundleFirst = repetition % 2 === 0;
          if (bundleFirst) measured.bundleTimes.push(await coldImport(node, measured.bundle, measured.fn.environment));
          measured.baselineTimes.push(await coldImport(node, measured.baseline, withoutNodeOptions(measured.fn.environment)));
          if (!bundleFirst) measured.bundleTimes.push(await coldImport(node, measured.bundle, measured.fn.environment));
          measured.ratios.push((measured.bundleTimes.at(-1) as number) / (measured.baselineTimes.at(-1) as number));
        }
      }
    } finally {
      restorePriority();
    }

    return modules.map(({ fn, bundleTimes, baselineTimes, ratios }) => ({
      name: fn.name,
      bytes: statSync(fn.zip).size,
      initRatio: round(median(ratios), 3),
      initMs: round(median(bundleTimes), 2),
      baselineMs: round(median(baselineTimes), 2),
    }));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function packageInto(packageDir: string): Promise<string> {
  const env = { ...process.env, PATH: `${join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH}`, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_SESSION_TOKEN: '', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
  await run(join(projectRoot, 'node_modules', '.bin', 'osls'), ['package', '--stage', 'test', '--package', packageDir], { cwd: projectRoot, env, timeout: 300_000 });
  return packageDir;
}

/** The functions as the packaged template deploys them: their zip, handler module and environment. */
function packagedFunctions(packageDir: string): PackagedFunction[] {
  const template = JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  return Object.values(template.Resources as Record<string, { Type: string; Properties: any }>)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map(({ Properties: properties }) => {
      const zip = join(packageDir, basename(properties.Code.S3Key));
      const variables = Object.entries((properties.Environment?.Variables ?? {}) as Record<string, unknown>);
      return {
        name: basename(zip, '.zip'),
        zip,
        module: String(properties.Handler).replace(/\.[^.]+$/, ''),
        // CloudFormation references (table names, ARNs) become the test settings' stand-ins.
        environment: { ...functionEnvironment, ...Object.fromEntries(variables.filter(([, value]) => typeof value === 'string')) } as Record<string, string>,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** serverless.yml's `custom.esbuild`, as resolved when packaging: the baseline is bundled the same way. */
function packagedBuildOptions(packageDir: string): BuildOptions {
  const state = JSON.parse(readFileSync(join(packageDir, 'serverless-state.json'), 'utf8'));
  const esbuild = state.service.custom?.esbuild ?? {};
  return {
    bundle: true,
    minify: esbuild.minify,
    keepNames: esbuild.keepNames,
    format: esbuild.format,
    platform: esbuild.platform ?? 'node',
    target: esbuild.target,
    mainFields: esbuild.mainFields,
    banner: esbuild.banner,
    outExtension: esbuild.outputFileExtension ? { '.js': esbuild.outputFileExtension } : undefined,
  };
}

/**
 * The floor a function cannot go below: one line importing the AWS SDK clients and commands its
 * own sources import, bundled as the functions are. Referencing them keeps esbuild from dropping them.
 */
async function buildBaseline(fn: PackagedFunction, options: BuildOptions, outfile: string): Promise<void> {
  const handlerSource = join(projectRoot, `${fn.module}.ts`);
  if (!existsSync(handlerSource)) throw new Error(`${fn.name}: ${fn.module}.ts is not in this tree; measure a package built from the sources here`);
  const analysed = await build({ ...options, entryPoints: [handlerSource], absWorkingDir: projectRoot, write: false, metafile: true, outdir: join(tmpdir(), 'unused'), logLevel: 'silent' });
  const sources = Object.keys(analysed.metafile.inputs).filter((input) => !input.includes('node_modules/'));
  const imported = new Map<string, Set<string>>();
  for (const source of sources) {
    for (const [, typeOnly, names, specifier] of readFileSync(join(projectRoot, source), 'utf8').matchAll(SDK_IMPORT)) {
      if (typeOnly || !specifier || !names) continue;
      for (const name of names.split(',').map((entry) => entry.trim())) {
        if (name === '' || name.startsWith('type ')) continue;
        const set = imported.get(specifier) ?? new Set<string>();
        set.add(name.split(/\s+as\s+/)[0] as string);
        imported.set(specifier, set);
      }
    }
  }
  const lines = [...imported].map(([specifier, names]) => `import { ${[...names].join(', ')} } from '${specifier}';`);
  const used = [...imported.values()].flatMap((names) => [...names]);
  lines.push(`export const handler = async () => [${used.join(', ')}];`);
  mkdirSync(dirname(outfile), { recursive: true });
  const entry = join(dirname(outfile), 'entry.mjs');
  writeFileSync(entry, lines.join('\n'));
  await build({ ...options, entryPoints: [entry], nodePaths: [join(projectRoot, 'node_modules')], outfile, outExtension: undefined, logLevel: 'silent' });
}

const SDK_IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[^'"]+)['"]/g;

/** Milliseconds a fresh Node process takes to import the module: what Lambda's init spends on it. */
async function coldImport(node: string, module: string, environment: Record<string, string>): Promise<number> {
  const driver = 'const started = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - started)); process.exit(0);';
  const { stdout } = await run(node, ['--input-type=module', '-e', driver, pathToFileURL(module).href], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment },
    timeout: 60_000,
  });
  return Number(stdout);
}

/**
 * Raises this process's scheduling priority, which the Node processes it starts inherit, where the
 * OS allows it (root, CAP_SYS_NICE): on a machine busy with other work, the imports then wait less
 * for a CPU, and their times say more about the bundles. Returns what puts the priority back.
 */
function importAhead(): () => void {
  const previous = getPriority();
  try {
    setPriority(-10);
  } catch {
    return () => {};
  }
  return () => setPriority(previous);
}

function withoutNodeOptions(environment: Record<string, string>): Record<string, string> {
  const { NODE_OPTIONS: _ignored, ...rest } = environment;
  return rest;
}

/** Node 22, as Lambda runs it: the project's pinned binary unless this process already is Node 22. */
function node22(): string {
  if (process.versions.node.startsWith('22.')) return process.execPath;
  return join(projectRoot, 'node_modules', '.bin', 'node');
}

/** Extracts a zip (stored or deflated entries, as serverless-esbuild writes them). */
function unzip(zip: string, into: string): void {
  const archive = readFileSync(zip);
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const entries = archive.readUInt16LE(end + 10);
  let offset = archive.readUInt32LE(end + 16);
  for (let entry = 0; entry < entries; entry++) {
    const method = archive.readUInt16LE(offset + 10);
    const compressedSize = archive.readUInt32LE(offset + 20);
    const nameLength = archive.readUInt16LE(offset + 28);
    const headerOffset = archive.readUInt32LE(offset + 42);
    const name = archive.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + archive.readUInt16LE(offset + 30) + archive.readUInt16LE(offset + 32);
    if (name.endsWith('/')) continue;
    const dataStart = headerOffset + 30 + archive.readUInt16LE(headerOffset + 26) + archive.readUInt16LE(headerOffset + 28);
    const data = archive.subarray(dataStart, dataStart + compressedSize);
    const target = join(into, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, method === 8 ? inflateRawSync(data) : data);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
