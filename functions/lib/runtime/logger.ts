import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One logger for every handler. Lines carry the execution and event ids and the subject's
 * fingerprint as correlation keys; never the subject id itself, nor the event that holds it.
 */
export const logger = new Logger({ serviceName: 'crypto-erasure' });
