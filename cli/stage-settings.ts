import { z } from 'zod';
import type { ServerlessConfig } from '../embedded-aws/deployment/serverless-print.ts';
import { readKeyPolicy, type KeyPolicy } from '../functions/lib/erasure/settings.ts';
import { CliError } from './exit-codes.ts';

/** What a command needs to know of a stage's configuration, as serverless.yml resolves it for that stage. */
export interface StageSettings {
  /** `params.<stage>.protected`: replaying closures there, which destroys keys, needs --force. */
  protected: boolean;
  /** The key policy the functions read from their environment, read the same way. */
  keyPolicy: KeyPolicy;
  allowedEventSources: string[];
}

// deploy/settings.cjs validates the params and puts the result under custom.erasure.
const ErasureSettings = z.object({
  protected: z.boolean(),
  allowedEventSources: z.array(z.string()),
});

const KEY_POLICY_VARIABLES = ['SUBJECT_TAG_KEY', 'ALIAS_PREFIX', 'PENDING_WINDOW_DAYS', 'ALLOWED_ACCOUNT_IDS'];

export function stageSettingsOf(config: ServerlessConfig): StageSettings {
  const erasure = ErasureSettings.safeParse(config.custom?.erasure);
  if (!erasure.success) {
    throw new CliError('failed', `serverless.yml's custom.erasure is not what deploy/settings.cjs makes of the params: ${erasure.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  // The functions' environment, as serverless.yml gives it to every function (provider.environment).
  const environment = Object.fromEntries(KEY_POLICY_VARIABLES.map((name) => [name, stringOrUndefined(config.provider.environment?.[name])]));
  let keyPolicy: KeyPolicy;
  try {
    keyPolicy = readKeyPolicy(environment);
  } catch (error) {
    throw new CliError('failed', `the stage's key policy: ${(error as Error).message}`);
  }
  return { protected: erasure.data.protected, keyPolicy, allowedEventSources: erasure.data.allowedEventSources };
}

function stringOrUndefined(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}
