/** What the AWS SDK surfaces of a refused call: the error's name, HTTP status and message, as the fidelity tests compare them with AWS's. */
export interface Refusal {
  name: string;
  status: number | undefined;
  message: string;
}

export async function refusalOf(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name, status: $metadata?.httpStatusCode, message };
  }
  throw new Error('the call succeeded; AWS refuses it');
}
