import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { measureBundles, type BundleMeasure } from './bundles.ts';
import { runBurst, type BurstResult } from './burst.ts';
import { runCost, type CostResult } from './cost.ts';
import { runDeterminism, type DeterminismResult } from './determinism.ts';
import { runReplay, type ReplayResult } from './replay.ts';

/**
 * `npm run bench`: the pipeline's throughput, cost and package size, measured on the embedded AWS
 * in this one process, printed as a table and written to bench/results.json (the sections not run
 * this time are kept from the file as they were). The targets are issue 11's "Done when".
 */
const SECTIONS = ['burst', 'determinism', 'cost', 'bundles', 'replay'] as const;
type Section = (typeof SECTIONS)[number];

const RESULTS_FILE = 'bench/results.json';
const DEFAULT_BURST_SIZE = 10_000;
const DEFAULT_REPLAY_SIZE = 200;
const DEFAULT_DETERMINISM_SIZE = 1_000;

interface Results {
  burst?: BurstResult | SectionFailure;
  determinism?: DeterminismResult | SectionFailure;
  cost?: CostResult | SectionFailure;
  bundles?: BundleMeasure[] | SectionFailure;
  replay?: ReplayResult | SectionFailure;
}

interface SectionFailure {
  error: string;
}

interface Row {
  figure: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      'burst-size': { type: 'string' },
      'replay-size': { type: 'string' },
      'determinism-size': { type: 'string' },
    },
  });
  const only = values.only === undefined ? [...SECTIONS] : values.only.split(',').map((name) => name.trim());
  const unknown = only.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')}`);
  const burstSize = positiveInteger(values['burst-size'], DEFAULT_BURST_SIZE, '--burst-size');
  const replaySize = positiveInteger(values['replay-size'], DEFAULT_REPLAY_SIZE, '--replay-size');
  const determinismSize = positiveInteger(values['determinism-size'], DEFAULT_DETERMINISM_SIZE, '--determinism-size');

  const results: Results = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Results) : {};
  const sections: Record<Section, () => Promise<Results[Section]>> = {
    burst: () => runBurst(burstSize),
    determinism: () => runDeterminism(determinismSize),
    cost: () => runCost(),
    bundles: () => measureBundles(),
    replay: () => runReplay(replaySize),
  };
  let failed = false;
  for (const section of SECTIONS) {
    if (!only.includes(section)) continue;
    const started = performance.now();
    process.stderr.write(`bench: ${section}...\n`);
    try {
      (results as Record<Section, unknown>)[section] = await sections[section]();
    } catch (error) {
      failed = true;
      (results as Record<Section, unknown>)[section] = { error: error instanceof Error ? error.message : String(error) };
    }
    process.stderr.write(`bench: ${section} took ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }

  const ordered = Object.fromEntries(SECTIONS.filter((section) => results[section] !== undefined).map((section) => [section, results[section]]));
  writeFileSync(RESULTS_FILE, `${JSON.stringify(ordered, null, 2)}\n`);
  process.stdout.write(`${table(results, only)}\nwritten to ${RESULTS_FILE}\n`);
  return failed ? 1 : 0;
}

function positiveInteger(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${option} takes a positive whole number, got ${value}`);
  return parsed;
}

function table(results: Results, only: string[]): string {
  const rows: Row[] = [];
  const add = (figure: string, value: unknown, target = '', met?: boolean) => rows.push({ figure, value: show(value), target, met });
  const { burst, determinism, cost, bundles, replay } = results;
  if (only.includes('burst') && burst) {
    if ('error' in burst) add('burst', `FAILED: ${burst.error}`);
    else {
      add(`burst (${burst.size} closures)`, `${burst.wallSeconds} s wall`);
      add('  utilization', burst.utilization, '>= 0.9', burst.utilization !== null && burst.utilization >= 0.9);
      add('  failed', burst.failed, '0', burst.failed === 0);
      add('  throttlingFailures', burst.throttlingFailures, '0', burst.throttlingFailures === 0);
      add('  throttledPerSuccess', burst.throttledPerSuccess, '<= 0.1', burst.throttledPerSuccess !== null && burst.throttledPerSuccess <= 0.1);
      add('  p50 closure to disabled', `${show(burst.p50Seconds)} s`);
      add('  p99 closure to disabled', `${show(burst.p99Seconds)} s`);
      add('  outOfOrder', burst.outOfOrder, '0', burst.outOfOrder === 0);
      add('  keys disabled', `${burst.disabled} in ${show(burst.disablingSeconds)} s`);
      add('  executions', Object.entries(burst.executions).map(([status, count]) => `${count} ${status}`).join(', '));
    }
  }
  if (only.includes('determinism') && determinism) {
    if ('error' in determinism) add('determinism', `FAILED: ${determinism.error}`);
    else {
      add(`determinism (${determinism.size} closures twice, the second on a loaded machine)`, `${determinism.wallSeconds} s wall`);
      add('  largest difference of a figure', determinism.maxDeviation, '<= 0.05', determinism.maxDeviation <= 0.05);
      add('  failed', determinism.failed, '0', determinism.failed === 0);
    }
  }
  if (only.includes('cost') && cost) {
    if ('error' in cost) add('cost', `FAILED: ${cost.error}`);
    else {
      for (const [name, erasure] of [['quiet', cost.quiet], ['lag24h', cost.lag24h]] as const) {
        const { usage } = erasure;
        add(`cost.${name} (${erasure.outcome}, ${show(erasure.virtualDays)} days)`, `$${erasure.dollars.toFixed(6)}`, name === 'lag24h' ? '<= 1.5x quiet' : '', name === 'lag24h' ? erasure.dollars <= 1.5 * cost.quiet.dollars : undefined);
        add('  transitions', usage.transitions, name === 'quiet' ? '<= 10' : '', name === 'quiet' ? usage.transitions <= 10 : undefined);
        add('  lambda invocations', usage.lambdaInvocations);
        add('  kms requests', usage.kmsRequests);
        add('  sns publishes', usage.snsPublishes);
        add('  dynamodb writes / reads', `${usage.dynamodbWriteUnits} / ${usage.dynamodbReadUnits}`);
        add('  eventbridge entries', usage.eventBridgeEntries);
        add('  sqs requests', usage.sqsRequests);
      }
    }
  }
  if (only.includes('bundles') && bundles) {
    if ('error' in bundles) add('bundles', `FAILED: ${bundles.error}`);
    else {
      for (const bundle of bundles) {
        add(`bundle ${bundle.name} bytes`, bundle.bytes, '< 350000', bundle.bytes < 350_000);
        add(`bundle ${bundle.name} initRatio`, bundle.initRatio, '<= 1.3', bundle.initRatio <= 1.3);
      }
    }
  }
  if (only.includes('replay') && replay) {
    if ('error' in replay) add('replay', `FAILED: ${replay.error}`);
    else {
      add(`replay (${replay.closures} closures)`, `${replay.closuresPerSecond} closures/s`);
      add('  outcomes', Object.entries(replay.outcomes).map(([outcome, count]) => `${count} ${outcome}`).join(', '));
    }
  }
  const width = (pick: (row: Row) => string, header: string) => Math.max(header.length, ...rows.map((row) => pick(row).length));
  const figureWidth = width((row) => row.figure, 'figure');
  const valueWidth = width((row) => row.value, 'value');
  const targetWidth = width((row) => row.target, 'target');
  const line = (figure: string, value: string, target: string, met: string) => `${figure.padEnd(figureWidth)}  ${value.padStart(valueWidth)}  ${target.padEnd(targetWidth)}  ${met}`.trimEnd();
  return [
    line('figure', 'value', 'target', 'met'),
    ...rows.map((row) => line(row.figure, row.value, row.target, row.met === undefined ? '' : row.met ? 'yes' : 'NO')),
  ].join('\n');
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '-';
  return String(value);
}

const exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
// The handlers keep their SDK clients' sockets open for a next invocation, as on Lambda: nothing
// else is left to wait for.
process.exit(exitCode);
