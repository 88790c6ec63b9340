import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { printServerlessConfig, type OslsRunner } from '../../../embedded-aws/deployment/serverless-print.ts';

/** A project as osls reads it: serverless.yml, what it references, and what those require. */
function writeProject(root: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  }
}

describe('printing serverless.yml through osls, kept between starts', () => {
  let root: string;
  let runs: string[][];
  const runOsls: OslsRunner = async (_root, args) => {
    runs.push(args);
    return JSON.stringify({ service: 'crypto-erasure', provider: { stage: args[args.indexOf('--stage') + 1] }, functions: {} });
  };
  const print = (stage = 'local') => printServerlessConfig(root, stage, 'eu-west-1', {}, { runOsls, cacheDir: join(root, 'cache') });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'osls-print-'));
    runs = [];
    writeProject(root, {
      'serverless.yml': 'service: crypto-erasure\ncustom:\n  erasure: ${file(./deploy/settings.cjs)}\n',
      'deploy/settings.cjs': 'const { rules } = require("../functions/rules.ts");\nmodule.exports = rules;\n',
      'functions/rules.ts': 'export const rules = { pendingWindowDays: 30 };\n',
      'statemachines/erasure.asl.json': '{}\n',
      'package-lock.json': '{"packages":{"node_modules/osls":{"version":"4.3.1"}}}\n',
    });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs osls once for the same project, stage and Region, and answers the same configuration after', async () => {
    const first = await print();
    const second = await print();
    expect(runs).toHaveLength(1);
    expect(second).toEqual(first);
    expect(second.provider.stage).toBe('local');
  });

  it('prints afresh for another stage', async () => {
    await print('local');
    expect((await print('test')).provider.stage).toBe('test');
    expect(runs).toHaveLength(2);
  });

  it.each([
    ['serverless.yml', 'service: crypto-erasure\n'],
    ['a file serverless.yml references', "const { rules } = require('../functions/rules.ts');\nmodule.exports = { ...rules };\n"],
    ['a project file that file requires', 'export const rules = { pendingWindowDays: 7 };\n'],
    ['the state machine', '{"StartAt":"Resolve"}\n'],
    ['the locked versions of osls and its plugins', '{"packages":{"node_modules/osls":{"version":"4.3.2"}}}\n'],
  ])('prints afresh when %s changes', async (what, text) => {
    const file = {
      'serverless.yml': 'serverless.yml',
      'a file serverless.yml references': 'deploy/settings.cjs',
      'a project file that file requires': 'functions/rules.ts',
      'the state machine': 'statemachines/erasure.asl.json',
      'the locked versions of osls and its plugins': 'package-lock.json',
    }[what]!;
    await print();
    writeFileSync(join(root, file), text);
    await print();
    expect(runs).toHaveLength(2);
  });

  it('keeps nothing when the configuration reads the environment: its answer depends on more than files', async () => {
    writeProject(root, { 'deploy/settings.cjs': 'module.exports = { stage: process.env.STAGE };\n' });
    await print();
    await print();
    expect(runs).toHaveLength(2);
  });

  it('prints afresh over a kept answer that cannot be read, and keeps the new one', async () => {
    await print();
    const [kept] = readdirSync(join(root, 'cache'));
    writeFileSync(join(root, 'cache', kept!), '{"service": "crypto-er');
    expect((await print()).service).toBe('crypto-erasure');
    expect((await print()).service).toBe('crypto-erasure');
    expect(runs).toHaveLength(2);
  });

  it('still answers when nothing can be kept (a read-only node_modules): it prints every time', async () => {
    writeFileSync(join(root, 'cache'), 'a file where the cache directory would be');
    expect((await print()).service).toBe('crypto-erasure');
    expect((await print()).service).toBe('crypto-erasure');
    expect(runs).toHaveLength(2);
  });

  it('keeps nothing without a cache directory', async () => {
    await printServerlessConfig(root, 'local', 'eu-west-1', {}, { runOsls, cacheDir: null });
    await printServerlessConfig(root, 'local', 'eu-west-1', {}, { runOsls, cacheDir: null });
    expect(runs).toHaveLength(2);
  });
});
