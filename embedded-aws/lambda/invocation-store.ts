import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

/**
 * On AWS each function runs in its own sandbox. Here every function shares one process, so
 * concurrent invocations must not share per-invocation state (the Powertools logger's context and
 * keys, the request id). The Lambda runtime solves the same problem for Lambda Managed Instances,
 * which run several invocations in one process: it sets AWS_LAMBDA_MAX_CONCURRENCY and runs each
 * invocation inside its InvokeStore context (AsyncLocalStorage). The embedded Lambda does the same,
 * with the same store that Powertools and the AWS SDK read.
 */
export const MAX_CONCURRENCY = '64';

export async function concurrentInvocationStore(): Promise<InvokeStoreBase> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= MAX_CONCURRENCY;
  const store = await InvokeStore.getInstanceAsync(true);
  if (!(await isolatesInvocations(store))) {
    throw new Error(
      'the Lambda invoke store was created in single-invocation mode before the embedded AWS started (an AWS SDK call made earlier in this process?); start the embedded AWS first',
    );
  }
  return store;
}

export function runInvocation<T>(store: InvokeStoreBase, requestId: string, invocation: () => Promise<T>): Promise<T> {
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, invocation);
}

async function isolatesInvocations(store: InvokeStoreBase): Promise<boolean> {
  const probe = Symbol('embedded-aws-probe');
  const read = (value: number) =>
    store.run({ [probe]: value }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return store.get(probe);
    });
  const [first, second] = await Promise.all([read(1), read(2)]);
  return first === 1 && second === 2;
}
