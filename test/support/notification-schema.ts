import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const schema = JSON.parse(readFileSync(new URL('../../schemas/erasure-notification.v1.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** The schema's complaints about a notification message, or [] when it conforms. */
export function schemaErrors(message: unknown): string[] {
  return validate(message) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '(message)'} ${error.message}`);
}
