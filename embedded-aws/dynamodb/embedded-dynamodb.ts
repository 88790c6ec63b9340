import { AwsServiceError, type FaultInjector, type HttpJsonService, type JsonObject, type RequestContext, type WireAnswer, type WireRequest } from '../protocol.ts';
import { Dynalite, jsonAnswer, type DynaliteAnswer, type DynaliteRequest } from './dynalite.ts';

export interface EmbeddedDynamoDbOptions {
  region: string;
  accountId: string;
  faults?: FaultInjector;
  /** Where LevelDB keeps the tables across restarts; in memory when absent. */
  path?: string;
}

/** AWS's own answer, as other DynamoDB implementations reproduce it (not in the API reference). */
const DELETION_PROTECTED = 'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.';

/** Kept in dynalite's database beside its tables, so it lasts as long as they do. */
const protectionKey = (tableName: string) => `embedded-aws~deletion-protection~${tableName}`;

/**
 * DynamoDB on loopback, speaking JSON 1.0 (`DynamoDB_20120810.<Operation>`): dynalite answers, as
 * it matches the live service's validation and messages closely. Around it, what dynalite lacks:
 * the fault point every embedded service has, and deletion protection (DeletionProtectionEnabled
 * on CreateTable and UpdateTable, reported by DescribeTable, refusing DeleteTable).
 */
export class EmbeddedDynamoDb implements HttpJsonService {
  readonly targetPrefix = 'DynamoDB_20120810';
  private readonly dynalite: Dynalite;
  private readonly faults: FaultInjector | undefined;

  private constructor(dynalite: Dynalite, faults: FaultInjector | undefined) {
    this.dynalite = dynalite;
    this.faults = faults;
  }

  static async open(options: EmbeddedDynamoDbOptions): Promise<EmbeddedDynamoDb> {
    const dynalite = await Dynalite.open({ path: options.path, region: options.region, accountId: options.accountId });
    return new EmbeddedDynamoDb(dynalite, options.faults);
  }

  async serve(request: WireRequest, context: RequestContext): Promise<WireAnswer> {
    const call: DynaliteRequest = { method: request.method, url: request.url, headers: request.headers, body: Buffer.from(request.body) };
    const operation = String(request.headers['x-amz-target']).split('.')[1] ?? '';
    try {
      return await this.answer(operation, call, context);
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      return jsonAnswer(error.statusCode, { __type: errorType(error.code), message: error.message }, context.requestId);
    }
  }

  /** Waits for the calls in flight, then closes the tables' database. */
  close(): Promise<void> {
    return this.dynalite.close();
  }

  private async answer(operation: string, call: DynaliteRequest, context: RequestContext): Promise<DynaliteAnswer> {
    // Item and query calls go to dynalite as they come (it parses them itself), unless the fault
    // point is to see them. A body that is not JSON is dynalite's to refuse, in DynamoDB's words.
    if (!this.faults && !TABLE_OPERATIONS.has(operation)) return this.dynalite.answer(call);
    const input = parseObject(call.body);
    const fault = this.faults?.({ service: 'dynamodb', operation, input, region: context.region });
    if (fault) throw fault;
    const tableName = typeof input.TableName === 'string' ? input.TableName : '';
    if (operation === 'DeleteTable' && (await this.isProtected(tableName))) throw new AwsServiceError('ValidationException', DELETION_PROTECTED);
    if (operation === 'UpdateTable' && changesOnlyDeletionProtection(input)) return this.updateDeletionProtection(call, tableName, input.DeletionProtectionEnabled === true);

    const answer = await this.dynalite.answer(call);
    if (answer.statusCode !== 200) return answer;
    if ((operation === 'CreateTable' || operation === 'UpdateTable') && typeof input.DeletionProtectionEnabled === 'boolean') {
      await this.protect(tableName, input.DeletionProtectionEnabled);
    }
    if (operation === 'DeleteTable') await this.protect(tableName, false);
    if (TABLE_OPERATIONS.has(operation)) return this.withDeletionProtection(answer, tableName, context);
    return answer;
  }

  /** UpdateTable with nothing but DeletionProtectionEnabled, which dynalite would refuse as changing nothing. */
  private async updateDeletionProtection(call: DynaliteRequest, tableName: string, enabled: boolean): Promise<DynaliteAnswer> {
    const described = await this.dynalite.answer({
      ...call,
      headers: { ...call.headers, 'x-amz-target': `${this.targetPrefix}.DescribeTable` },
      body: Buffer.from(JSON.stringify({ TableName: tableName })),
    });
    if (described.statusCode !== 200) return described;
    await this.protect(tableName, enabled);
    const { Table } = JSON.parse(described.body) as { Table: JsonObject };
    return jsonAnswer(200, { TableDescription: { ...Table, DeletionProtectionEnabled: enabled } }, String(described.headers['x-amzn-requestid']));
  }

  /** DynamoDB reports DeletionProtectionEnabled in every table description; dynalite does not know it. */
  private async withDeletionProtection(answer: DynaliteAnswer, tableName: string, context: RequestContext): Promise<DynaliteAnswer> {
    const output = JSON.parse(answer.body) as { Table?: JsonObject; TableDescription?: JsonObject };
    const enabled = await this.isProtected(tableName);
    if (output.Table) output.Table.DeletionProtectionEnabled = enabled;
    if (output.TableDescription) output.TableDescription.DeletionProtectionEnabled = enabled;
    return jsonAnswer(200, output, String(answer.headers['x-amzn-requestid'] ?? context.requestId));
  }

  private async isProtected(tableName: string): Promise<boolean> {
    return (await this.dynalite.database.get(protectionKey(tableName))) === true;
  }

  private async protect(tableName: string, enabled: boolean): Promise<void> {
    if (enabled) await this.dynalite.database.put(protectionKey(tableName), true);
    else await this.dynalite.database.del(protectionKey(tableName));
  }
}

/** The operations the embedded DynamoDB adds to (deletion protection); dynalite answers the rest alone. */
const TABLE_OPERATIONS = new Set(['CreateTable', 'DescribeTable', 'UpdateTable', 'DeleteTable']);

function changesOnlyDeletionProtection(input: JsonObject): boolean {
  return typeof input.DeletionProtectionEnabled === 'boolean' && Object.keys(input).every((key) => key === 'TableName' || key === 'DeletionProtectionEnabled');
}

function parseObject(body: Buffer): JsonObject {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  } catch {
    return {};
  }
}

const CORAL_SERVICE_ERRORS = new Set([
  'AccessDeniedException',
  'IncompleteSignatureException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'SerializationException',
  'UnknownOperationException',
  'UnrecognizedClientException',
]);

/** DynamoDB's `__type`, namespace included, as the live service (and dynalite) writes it; the SDK reads the name after `#`. */
function errorType(code: string): string {
  if (code === 'ValidationException') return `com.amazon.coral.validate#${code}`;
  if (code === 'ThrottlingException') return `com.amazon.coral.availability#${code}`;
  if (CORAL_SERVICE_ERRORS.has(code)) return `com.amazon.coral.service#${code}`;
  return `com.amazonaws.dynamodb.v20120810#${code}`;
}
