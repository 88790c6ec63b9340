import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';

/**
 * serverless.yml read as plain YAML, for tests that need its shape without running osls: the
 * CloudFormation short-form tags are kept as `{ tag, value }` markers.
 */
const cloudFormationTags: Tags = ['!Ref', '!GetAtt', '!Sub', '!Join', '!If', '!Equals', '!Select', '!Split', '!ImportValue'].flatMap((tag) => [
  { tag, resolve: (value: unknown) => ({ tag, value }) },
  { tag, collection: 'seq' as const, resolve: (value: unknown) => ({ tag, value }) },
]);

export interface ServerlessFunctionConfig {
  handler: string;
  environment?: Record<string, unknown>;
}

export function readServerlessYml(): { functions: Record<string, ServerlessFunctionConfig> } {
  return parse(readFileSync('serverless.yml', 'utf8'), { customTags: cloudFormationTags });
}
