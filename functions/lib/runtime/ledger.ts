import { clientConfig } from './aws-clients.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ledgerTable } from '../aws/ledger-table.ts';
import { readLedgerTableName } from '../erasure/settings.ts';
import { erasureLedger, type Ledger } from '../ledger/ledger.ts';
import { now } from './clock.ts';

/** The ledger of serverless.yml's LedgerTable, as every handler reaches it: call once, at module scope. */
export function openLedger(): Ledger {
  return erasureLedger(ledgerTable(new DynamoDBClient(clientConfig()), readLedgerTableName()), now);
}
