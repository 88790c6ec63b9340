/**
 * The ASL in statemachines/ names its Lambda functions the CloudFormation way,
 * `{"Fn::GetAtt": ["resolveKeys", "Arn"]}`, which serverless-step-functions resolves at deploy.
 * Locally the same references resolve to the embedded functions' ARNs.
 */
export type Definition = { StartAt: string; States: Record<string, StateDefinition>; [field: string]: unknown };
export type StateDefinition = { Type: string; Resource?: unknown; [field: string]: unknown };

export function resolveFunctionReferences(definition: unknown, arnOf: (functionKey: string) => string): Definition {
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node !== null && typeof node === 'object') {
      const getAtt = (node as Record<string, unknown>)['Fn::GetAtt'];
      if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string') return arnOf(getAtt[0]);
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value)]));
    }
    return node;
  };
  return resolve(definition) as Definition;
}

/** Every state, nested ones (Map item processors, Parallel branches) included, by name. */
export function allStates(definition: Pick<Definition, 'States'>): Map<string, StateDefinition> {
  const states = new Map<string, StateDefinition>();
  const visit = (machine: Pick<Definition, 'States'>) => {
    for (const [name, state] of Object.entries(machine.States)) {
      if (states.has(name)) throw new Error(`state name ${name} is used twice; the local runner needs unique names`);
      states.set(name, state);
      const processor = (state.ItemProcessor ?? state.Iterator) as Definition | undefined;
      if (processor) visit(processor);
      for (const branch of (state.Branches as Definition[] | undefined) ?? []) visit(branch);
    }
  };
  visit(definition);
  return states;
}
