import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The tests `npm run mutation` runs against each mutant: the unit tests and the in-process tests of
// the embedded KMS and the event-pattern matcher. The integration and e2e tests start servers and
// state machines and would make every mutant cost seconds.
const mutationTests = [
  'test/unit/**/*.test.ts',
  'test/embedded-aws/eventbridge/event-pattern*.test.ts',
  'test/embedded-aws/kms/*.test.ts',
];

// The events catalog test runs `osls print` before its tests (seconds), and would do so for every
// mutant of the closure contract and the matcher it touches; the matcher's and the contract's own
// tests cover what it would catch there.
const tooSlowPerMutant = ['test/unit/cli/events.test.ts'];

// Re-importing the AWS SDK for every test file costs far more than the tests themselves (a dry run
// spent 5.7 s in tests and 65 s in overhead), so most files share their modules (isolate: false).
// These few keep module state of their own (a logger's keys, a ledger's chains, a quota's counters,
// a retry clock) and stay isolated.
const needIsolation = [
  'test/unit/functions/logging.test.ts',
  'test/unit/ledger/ledger.test.ts',
  'test/unit/runtime/retry-strategy.test.ts',
  'test/embedded-aws/kms/request-quotas.test.ts',
];

// Each project spells out the base settings: with `extends: true` a project's `include` would be
// appended to the base's, which takes in every test.
export default defineConfig({
  test: {
    projects: [
      { test: { ...base.test, name: 'shared', include: mutationTests, exclude: [...needIsolation, ...tooSlowPerMutant], isolate: false } },
      { test: { ...base.test, name: 'isolated', include: needIsolation } },
    ],
  },
});
