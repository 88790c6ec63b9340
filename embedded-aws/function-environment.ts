/**
 * The process environment the functions run in: serverless.yml's variables, resolved to the local
 * resources, with the embedded endpoint and credentials in place of any AWS account's.
 */
import type { LocalDeployment } from './deployment/local-deployment.ts';
import { MAX_CONCURRENCY } from './lambda/invocation-store.ts';

/**
 * The functions share this process, so their environments are merged into it: serverless.yml's
 * provider-wide settings plus each function's own. Two functions that need different values for
 * one variable cannot share a process, and are refused rather than silently given one of them.
 */
export function setFunctionEnvironment(
  deployment: LocalDeployment,
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  overrides: Record<string, string>,
): () => void {
  const merged: Record<string, string> = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: deployment.region,
    AWS_DEFAULT_REGION: deployment.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_LAMBDA_MAX_CONCURRENCY: MAX_CONCURRENCY,
  };
  // A queue's Ref is AWS's URL for it, but SDK v3's SQS client sends each call to its QueueUrl's
  // host unless the client itself is given an endpoint (AWS_ENDPOINT_URL does not count): a handler
  // would reach AWS. Locally the queue's URL is the embedded endpoint's, as GetQueueUrl gives it.
  const localQueueUrls = (value: string) =>
    deployment.queues.reduce((text, queue) => text.replaceAll(queue.url, `${endpoint}/${deployment.accountId}/${queue.name}`), value);
  const owner: Record<string, string> = {};
  for (const fn of deployment.functions) {
    for (const [name, declared] of Object.entries(fn.environment)) {
      const value = localQueueUrls(declared);
      if (name in owner && merged[name] !== value) {
        throw new Error(`functions ${owner[name]} and ${fn.key} set ${name} differently; the embedded AWS runs them in one process`);
      }
      owner[name] = fn.key;
      merged[name] = value;
    }
  }
  Object.assign(merged, overrides);
  const previous = Object.fromEntries([...Object.keys(merged), 'AWS_SESSION_TOKEN', 'AWS_PROFILE'].map((name) => [name, process.env[name]]));
  // Credentials from the machine would be sent to loopback only, but must never be used by mistake.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, merged);
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
