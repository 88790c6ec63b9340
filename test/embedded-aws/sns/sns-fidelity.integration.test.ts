/**
 * The embedded SNS answers as AWS does: the same error code (the SDK's exception name), HTTP status
 * and message. Each case names where the expected answer comes from: the service model shipped in
 * @aws-sdk/client-sns (codes and statuses), the SNS API reference and Developer Guide (limits and
 * formats), and answers real AWS gave, as recorded in public issues or in LocalStack's and moto's
 * tests that were validated against AWS.
 */
import {
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  PublishBatchCommand,
  PublishCommand,
  SubscribeCommand,
  TagResourceCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT, closeAll, lastSubscribeUrl, lastToken, type SnsHarness, startSns, startSubscriber, subscribeHttp, TOPIC_ARN, TOPIC_NAME } from './sns-harness.ts';

afterEach(closeAll);

const MAX_PUBLISH_BYTES = 262_144;

/** What the SDK makes of an SNS error: the exception's name, the HTTP status and AWS's message. */
function snsError(name: string, httpStatusCode: number, message: string) {
  return { name, message, $metadata: expect.objectContaining({ httpStatusCode }) };
}

async function withTopic(): Promise<SnsHarness> {
  const harness = await startSns();
  await harness.client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
  return harness;
}

describe('malformed ARNs', () => {
  it('refuses a topic ARN of fewer than six elements, counting them', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: 'erasure-notifications', Message: 'hello' }));

    // Real AWS: "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1",
    // InvalidParameter, 400 (aws-samples/amazon-rekognition-video-analyzer#41,
    // aws-samples/aws-marketplace-serverless-saas-integration#11); LocalStack counts the elements as
    // arn.split(':') in its AWS-validated parse_and_validate_topic_arn.
    await expect(publishing).rejects.toMatchObject(
      snsError('InvalidParameterException', 400, 'Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1'),
    );
  });

  it('refuses a topic ARN of another Region without looking it up', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:${TOPIC_NAME}`, Message: 'hello' }));

    // Real AWS answers a topic of another Region "Invalid parameter: TopicArn", 400
    // (mozilla/security#8; sysdiglabs/terraform-aws-secure-for-cloud#105, "Needed to deploy in the
    // same region"); LocalStack's _get_topic raises the same when the Regions differ.
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: TopicArn'));
  });

  it('names TargetArn when the malformed ARN came as TargetArn', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TargetArn: `arn:aws:sns:us-east-1:${ACCOUNT}:${TOPIC_NAME}`, Message: 'hello' }));

    // Real AWS: "Invalid parameter: TargetArn" (bluesentry/bucket-antivirus-function#99).
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: TargetArn'));
  });

  it('refuses a subscription ARN of fewer than six elements', async () => {
    const { client } = await withTopic();

    const reading = client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: 'erasure-subscription' }));

    // Real AWS: "InvalidParameter: Invalid parameter: SubscriptionArn Reason: An ARN must have at
    // least 6 elements, not 1", status code 400 (crossplane-contrib/provider-upjet-aws#935).
    await expect(reading).rejects.toMatchObject(
      snsError('InvalidParameterException', 400, 'Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1'),
    );
  });

  it('refuses to unsubscribe a topic ARN, which lacks the subscription id', async () => {
    const { client } = await withTopic();

    const unsubscribing = client.send(new UnsubscribeCommand({ SubscriptionArn: TOPIC_ARN }));

    // LocalStack's test_unsubscribe_wrong_arn_format (validated against AWS) and its provider:
    // a six-element ARN of no subscription is "Invalid parameter: SubscriptionId".
    await expect(unsubscribing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: SubscriptionId'));
  });
});

describe('missing resources', () => {
  it('answers NotFound "Topic does not exist" with 404 for a topic that does not exist', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: `${TOPIC_ARN}-missing`, Message: 'hello' }));

    // Service model: NotFoundException is awsQueryError NotFound, HTTP 404; the message is AWS's
    // "Topic does not exist" (LocalStack's AWS-validated _get_topic, moto's TopicNotFound).
    await expect(publishing).rejects.toMatchObject(snsError('NotFoundException', 404, 'Topic does not exist'));
  });

  it('answers NotFound "Subscription does not exist" with 404 for a subscription that does not exist', async () => {
    const { client } = await withTopic();

    const reading = client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: `${TOPIC_ARN}:0b3c1d52-2a52-4f43-a9f0-2a1e4c0f7b11` }));

    // Service model: NotFound, 404; message as in LocalStack's get_subscription_attributes.
    await expect(reading).rejects.toMatchObject(snsError('NotFoundException', 404, 'Subscription does not exist'));
  });

  it('unsubscribes idempotently: a subscription already gone is not an error', async () => {
    const { client } = await withTopic();
    const { SubscriptionArn } = await client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'console' }));
    await client.send(new UnsubscribeCommand({ SubscriptionArn }));

    const again = client.send(new UnsubscribeCommand({ SubscriptionArn }));

    // LocalStack's test_unsubscribe_idempotency, validated against AWS: the second Unsubscribe succeeds.
    await expect(again).resolves.toMatchObject({ $metadata: expect.objectContaining({ httpStatusCode: 200 }) });
  });
});

describe('message size', () => {
  it('accepts a message of exactly 262,144 bytes', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'x'.repeat(MAX_PUBLISH_BYTES) }));

    // API reference, Publish: messages "at most 256 KB in size (262,144 bytes, not 262,144 characters)".
    await expect(publishing).resolves.toMatchObject({ MessageId: expect.any(String) });
  });

  it('refuses a message one byte over 262,144 bytes with "Invalid parameter: Message too long"', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'x'.repeat(MAX_PUBLISH_BYTES + 1) }));

    // Real AWS: "Invalid parameter: Message too long (Service: AmazonSNS; Status Code: 400; Error
    // Code: InvalidParameter" (wellcomecollection/platform#1776, #1460).
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Message too long'));
  });

  it('counts bytes, not characters', async () => {
    const { client } = await withTopic();
    const twoByteCharacters = 'é'.repeat(MAX_PUBLISH_BYTES / 2 + 1);

    const publishing = client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: twoByteCharacters }));

    // API reference, Publish: "262,144 bytes, not 262,144 characters"; é is two bytes in UTF-8.
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Message too long'));
  });

  it('counts message attributes toward the limit', async () => {
    const { client } = await withTopic();
    const attributes = { kind: { DataType: 'String', StringValue: 'KeyDeleted' } };

    const publishing = client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'x'.repeat(MAX_PUBLISH_BYTES - 10), MessageAttributes: attributes }));

    // Developer Guide, "Amazon SNS message attributes": "All parts of the message attribute,
    // including name, type, and value, are included in the message size restriction".
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Message too long'));
  });
  it("holds a message to the topic's MaximumMessageSize", async () => {
    const { client } = await startSns();
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { MaximumMessageSize: '1024' } }));

    const publishing = client.send(new PublishCommand({ TopicArn, Message: 'x'.repeat(1025) }));

    // API reference, CreateTopic/SetTopicAttributes, MaximumMessageSize: "The maximum size, in bytes,
    // of a message that can be published to the topic. Valid values are 1024 to 1048576".
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Message too long'));
  });
});

describe('the http(s) SubscriptionConfirmation handshake', () => {
  it('answers Subscribe with "pending confirmation" and POSTs the endpoint a SubscriptionConfirmation', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);

    const { SubscriptionArn } = await harness.client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url }));
    await harness.sns.idle();

    // API reference, SubscribeResponse: "the string "pending confirmation" if the subscription
    // requires confirmation". Developer Guide, "HTTP/HTTPS subscription confirmation JSON format"
    // and "HTTP/HTTPS headers": the fields and headers of the POST, and the Message text.
    expect(SubscriptionArn).toBe('pending confirmation');
    expect(subscriber.confirmations).toHaveLength(1);
    expect(subscriber.confirmations[0]?.headers).toMatchObject({
      'x-amz-sns-message-type': 'SubscriptionConfirmation',
      'x-amz-sns-topic-arn': TOPIC_ARN,
      'x-amz-sns-message-id': expect.any(String),
      'user-agent': 'Amazon Simple Notification Service Agent',
    });
    expect(JSON.parse(subscriber.confirmations[0]?.body ?? '')).toEqual({
      Type: 'SubscriptionConfirmation',
      MessageId: expect.any(String),
      Token: expect.stringMatching(/^[0-9a-f]+$/),
      TopicArn: TOPIC_ARN,
      Message: `You have chosen to subscribe to the topic ${TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/\\?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC_ARN)}&Token=[0-9a-f]+$`)),
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      SignatureVersion: '1',
      Signature: expect.any(String),
      SigningCertURL: expect.any(String),
    });
    expect(subscriber.received).toEqual([]);
  });

  it('returns the subscription ARN at once when ReturnSubscriptionArn is true', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);

    const { SubscriptionArn } = await harness.client.send(
      new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url, ReturnSubscriptionArn: true }),
    );

    // API reference, Subscribe, ReturnSubscriptionArn: "the response includes the ARN in all cases,
    // even if the subscription is not yet confirmed".
    expect(SubscriptionArn).toMatch(new RegExp(`^${TOPIC_ARN}:[0-9a-f-]{36}$`));
  });

  it('keeps the subscription PendingConfirmation and sends it nothing until it is confirmed', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);
    const { SubscriptionArn } = await harness.client.send(
      new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url, ReturnSubscriptionArn: true }),
    );

    await harness.client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'before confirmation' }));
    await harness.sns.idle();
    const { Subscriptions } = await harness.client.send(new ListSubscriptionsByTopicCommand({ TopicArn: TOPIC_ARN }));
    const { Attributes } = await harness.client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }));
    const topic = await harness.client.send(new GetTopicAttributesCommand({ TopicArn: TOPIC_ARN }));

    // Developer Guide: "Amazon SNS doesn't send notifications to this endpoint until the subscription
    // is confirmed". ListSubscriptionsByTopic shows "PendingConfirmation" for its ARN, and the
    // attributes say PendingConfirmation "true" (LocalStack's AWS-validated subscription snapshots).
    expect(subscriber.received).toEqual([]);
    expect(Subscriptions?.map((subscription) => subscription.SubscriptionArn)).toEqual(['PendingConfirmation']);
    expect(Attributes).toMatchObject({ PendingConfirmation: 'true', ConfirmationWasAuthenticated: 'false' });
    expect(topic.Attributes).toMatchObject({ SubscriptionsPending: '1', SubscriptionsConfirmed: '0' });
  });

  it('confirms with the token, answering the subscription ARN, and delivers from then on', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);
    await harness.client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url }));
    await harness.sns.idle();

    const { SubscriptionArn } = await harness.client.send(new ConfirmSubscriptionCommand({ TopicArn: TOPIC_ARN, Token: lastToken(subscriber) }));
    await harness.client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'after confirmation' }));
    await harness.sns.idle();
    const { Attributes } = await harness.client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }));

    // API reference, ConfirmSubscription: "If the token is valid, the action creates a new
    // subscription and returns its Amazon Resource Name (ARN)".
    expect(SubscriptionArn).toMatch(new RegExp(`^${TOPIC_ARN}:[0-9a-f-]{36}$`));
    expect(Attributes).toMatchObject({ PendingConfirmation: 'false', ConfirmationWasAuthenticated: 'true' });
    expect(subscriber.received.map((request) => JSON.parse(request.body).Message)).toEqual(['after confirmation']);
  });

  it('confirms when the subscriber fetches its SubscribeURL, unsigned, as SNS receivers do; the confirmation is not an authenticated one', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);
    await harness.client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url }));
    await harness.sns.idle();
    const subscribeUrl = lastSubscribeUrl(subscriber);

    const response = await fetch(subscribeUrl);
    const body = await response.text();
    await harness.client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'after the SubscribeURL' }));
    await harness.sns.idle();
    const subscriptionArn = /<SubscriptionArn>([^<]+)<\/SubscriptionArn>/.exec(body)?.[1];
    const { Attributes } = await harness.client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }));

    // Developer Guide, "Confirm the subscription": visiting the SubscribeURL confirms it, answering
    // a ConfirmSubscriptionResponse. API reference, ConfirmSubscription, AuthenticateOnUnsubscribe:
    // only a confirmation made with a signed call is an authenticated one.
    expect(response.status).toBe(200);
    expect(body).toContain('<ConfirmSubscriptionResponse');
    expect(subscriptionArn).toMatch(new RegExp(`^${TOPIC_ARN}:[0-9a-f-]{36}$`));
    expect(Attributes).toMatchObject({ PendingConfirmation: 'false', ConfirmationWasAuthenticated: 'false' });
    expect(subscriber.received.map((request) => JSON.parse(request.body).Message)).toEqual(['after the SubscribeURL']);
  });

  it('serves no other action unsigned: a GET that would publish is turned away and publishes nothing', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);
    await subscribeHttp(harness, subscriber);
    const subscribeUrl = lastSubscribeUrl(subscriber);
    const endpoint = new URL(subscribeUrl).origin;

    const response = await fetch(`${endpoint}/?Action=Publish&TopicArn=${encodeURIComponent(TOPIC_ARN)}&Message=unsigned`);
    await harness.sns.idle();

    expect(response.status).toBe(404);
    expect(subscriber.received).toEqual([]);
  });

  it('refuses a SubscribeURL whose token it never sent, as a signed ConfirmSubscription is refused', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);
    await harness.client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url }));
    await harness.sns.idle();
    const subscribeUrl = lastSubscribeUrl(subscriber);

    const response = await fetch(subscribeUrl.replace(/Token=[0-9a-f]+/, `Token=${'a'.repeat(288)}`));

    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>InvalidParameter</Code>');
  });

  it('refuses a token it never sent with "Invalid parameter: Token"', async () => {
    const { client } = await withTopic();

    const confirming = client.send(new ConfirmSubscriptionCommand({ TopicArn: TOPIC_ARN, Token: 'a'.repeat(288) }));

    // Real AWS ErrorResponse recorded in a WordPress SNS plugin's tests: Type Sender, Code
    // InvalidParameter, "Invalid parameter: Token", 400 Bad Request; LocalStack's AWS-validated
    // confirm_subscription answers the same.
    await expect(confirming).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Token'));
  });

  it('refuses a token presented with another topic\'s ARN with "Invalid parameter: Topic"', async () => {
    const harness = await withTopic();
    const otherTopic = await harness.client.send(new CreateTopicCommand({ Name: 'on-call-alerts' }));
    const subscriber = await startSubscriber(harness.clock);
    await harness.client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'http', Endpoint: subscriber.url }));
    await harness.sns.idle();

    const confirming = harness.client.send(new ConfirmSubscriptionCommand({ TopicArn: otherTopic.TopicArn, Token: lastToken(subscriber) }));

    // Real AWS: "AWS::SNS::Errors::InvalidParameter Invalid parameter: Topic", 400, for a
    // ConfirmSubscription whose topic does not go with the token (aws/aws-sdk-ruby#523).
    await expect(confirming).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Topic'));
  });

  it('confirms an already confirmed subscription again without error', async () => {
    const harness = await withTopic();
    const subscriber = await startSubscriber(harness.clock);
    const first = await subscribeHttp(harness, subscriber);

    const { SubscriptionArn } = await harness.client.send(new ConfirmSubscriptionCommand({ TopicArn: TOPIC_ARN, Token: lastToken(subscriber) }));

    // LocalStack's AWS-validated confirm_subscription: "ConfirmSubscription is idempotent".
    expect(SubscriptionArn).toBe(first);
  });
});

describe('CreateTopic attributes', () => {
  it('accepts FifoTopic "false" for a standard topic and does not report it back', async () => {
    const { client } = await startSns();

    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { FifoTopic: 'false' } }));
    const { Attributes } = await client.send(new GetTopicAttributesCommand({ TopicArn }));

    // AWS keeps no FifoTopic attribute on a standard topic, whatever its creator said: moto's
    // test_topic_get_attributes_with_fifo_false, and LocalStack's provider ("AWS does not seem to
    // save explicit settings of fifo = false"; "key omitted" to match its AWS snapshots).
    expect(TopicArn).toBe(TOPIC_ARN);
    expect(Attributes).not.toHaveProperty('FifoTopic');
    expect(Attributes).not.toHaveProperty('ContentBasedDeduplication');
  });

  it('treats CreateTopic with FifoTopic "false" as the same request as without it', async () => {
    const { client } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));

    const again = await client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { FifoTopic: 'false' } }));

    // CreateTopic is idempotent for the same name and attributes (API reference, CreateTopic); an
    // unkept FifoTopic "false" asks for nothing the topic is not already.
    expect(again.TopicArn).toBe(TOPIC_ARN);
  });

  it('refuses an attribute SNS does not know', async () => {
    const { client } = await startSns();

    const creating = client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { Retention: '7' } }));

    // Real AWS, a Region without FIFO topics: "InvalidParameter: Invalid parameter: Attributes
    // Reason: Unknown attribute FifoTopic", status code 400 (hashicorp/terraform-provider-aws#22282).
    await expect(creating).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Attributes Reason: Unknown attribute Retention'));
  });

  it('refuses a FIFO topic whose name lacks the .fifo suffix', async () => {
    const { client } = await startSns();

    const creating = client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { FifoTopic: 'true' } }));

    // Real AWS: "InvalidParameterException with undescriptive message Invalid parameter: Topic Name"
    // (awsdocs/aws-cloudformation-user-guide#860).
    await expect(creating).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Topic Name'));
  });
});

describe('other documented limits', () => {
  it('refuses a subject longer than 100 characters', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Subject: 's'.repeat(101), Message: 'hello' }));

    // API reference, Publish, Subject: "less than 100 characters long"; LocalStack's AWS-validated
    // publish refuses a bad subject as "Invalid parameter: Subject".
    await expect(publishing).rejects.toMatchObject(snsError('InvalidParameterException', 400, 'Invalid parameter: Subject'));
  });

  it('refuses a message attribute of an unknown type as ParameterValueInvalid', async () => {
    const { client } = await withTopic();

    const publishing = client.send(
      new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'hello', MessageAttributes: { timestamp: { DataType: 'Timestamp', StringValue: '2026-01-01' } } }),
    );

    // Service model: InvalidParameterValueException is awsQueryError ParameterValueInvalid, 400.
    // Message as AWS words it (localstack/localstack#7109: "Error Code: ParameterValueInvalid").
    await expect(publishing).rejects.toMatchObject(
      snsError(
        'InvalidParameterValueException',
        400,
        "The message attribute 'timestamp' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.",
      ),
    );
  });

  it('refuses a MessageDeduplicationId on a standard topic', async () => {
    const { client } = await withTopic();

    const publishing = client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'hello', MessageDeduplicationId: 'once' }));

    // LocalStack's AWS-validated publish: a deduplication id is only for FIFO topics.
    await expect(publishing).rejects.toMatchObject(
      snsError(
        'InvalidParameterException',
        400,
        'Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type',
      ),
    );
  });

  it('refuses a batch of more than 10 entries', async () => {
    const { client } = await withTopic();
    const entries = Array.from({ length: 11 }, (_, index) => ({ Id: `entry-${index}`, Message: 'hello' }));

    const publishing = client.send(new PublishBatchCommand({ TopicArn: TOPIC_ARN, PublishBatchRequestEntries: entries }));

    // API reference, PublishBatch: up to 10 messages; service model: TooManyEntriesInBatchRequest, 400.
    await expect(publishing).rejects.toMatchObject(
      snsError('TooManyEntriesInBatchRequestException', 400, 'The batch request contains more entries than permissible.'),
    );
  });

  it('refuses a batch whose messages together pass 262,144 bytes', async () => {
    const { client } = await withTopic();
    const half = 'x'.repeat(MAX_PUBLISH_BYTES / 2);

    const publishing = client.send(
      new PublishBatchCommand({ TopicArn: TOPIC_ARN, PublishBatchRequestEntries: [{ Id: 'a', Message: half }, { Id: 'b', Message: `${half}x` }] }),
    );

    // API reference, PublishBatch: "The total aggregate size of all messages within a single
    // PublishBatch request can't exceed 262,144 bytes"; service model: BatchRequestTooLong, 400.
    await expect(publishing).rejects.toMatchObject(
      snsError('BatchRequestTooLongException', 400, 'The length of all the messages put together is more than the limit.'),
    );
  });

  it('refuses more than 50 tags on a topic', async () => {
    const { client } = await withTopic();
    const tags = Array.from({ length: 51 }, (_, index) => ({ Key: `tag-${index}`, Value: 'v' }));

    const tagging = client.send(new TagResourceCommand({ ResourceArn: TOPIC_ARN, Tags: tags }));

    // Service model: TagLimitExceededException, "Can't add more than 50 tags to a topic",
    // awsQueryError TagLimitExceeded, 400. AWS's message as moto and a client tested against AWS
    // (ballerina-platform's SNS connector) expect it.
    await expect(tagging).rejects.toMatchObject(snsError('TagLimitExceededException', 400, 'Could not complete request: tag quota of per resource exceeded'));
  });
});
