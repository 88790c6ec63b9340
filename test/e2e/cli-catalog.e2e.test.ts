import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { erasure } from '../support/cli.ts';

describe('erasure events', () => {
  it('lists every file of events/, one line each, and exits 0', async () => {
    const run = erasure(['events']);

    expect(await run.exit).toBe(0);
    const lines = run.output().trimEnd().split('\n');
    const files = readdirSync('events').filter((file) => file.endsWith('.json')).sort();
    expect(lines.map((line) => line.split(' ')[0])).toEqual(files);
    expect(lines.find((line) => line.startsWith('account-closed-foreign-source.json '))).toMatch(/from com\.example\.attacker.*ClosureEventInvalid/);
  });
});

describe('erasure diagram', () => {
  it('prints the state machine as a Mermaid diagram and exits 0', async () => {
    const run = erasure(['diagram']);

    expect(await run.exit).toBe(0);
    expect(run.output()).toMatch(/^stateDiagram-v2\n {4}\[\*\] --> ResolveKeys\n/);
    expect(run.output()).toContain('IsErasureSettled --> NotifyCompleted : status = Deleted');
  });
});
