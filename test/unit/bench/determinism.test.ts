import { describe, expect, it } from 'vitest';
import { deviations, type BurstFigures } from '../../../bench/determinism.ts';

const figures = (overrides: Partial<BurstFigures> = {}): BurstFigures => ({
  utilization: 0.98,
  throttledPerSuccess: 0.004,
  p50Seconds: 100,
  p99Seconds: 198,
  disablingSeconds: 200,
  ...overrides,
});

describe('deviations', () => {
  it('is zero for identical runs, figures absent in both included', () => {
    expect(Object.values(deviations(figures({ p99Seconds: null }), figures({ p99Seconds: null })))).toEqual([0, 0, 0, 0, 0]);
  });

  it('is the difference over the larger value, whichever run it came from', () => {
    expect(deviations(figures({ p50Seconds: 90 }), figures()).p50Seconds).toBeCloseTo(0.1);
    expect(deviations(figures(), figures({ p50Seconds: 90 })).p50Seconds).toBeCloseTo(0.1);
  });

  it('counts a figure present in one run only as entirely different', () => {
    expect(deviations(figures({ utilization: null }), figures()).utilization).toBe(1);
  });
});
