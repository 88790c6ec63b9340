export { EmbeddedDynamoDb, type EmbeddedDynamoDbOptions } from './embedded-dynamodb.ts';
export { deployTables } from './table-deployment.ts';
