import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeCondition, readErasureDefinition, stateMachineDiagram, type AslDefinition } from '../../../cli/commands/diagram.ts';

/** A small machine with one of each thing the diagram draws: a Catch, a Map, a Choice with a Default, a Wait. */
const definition: AslDefinition = {
  StartAt: 'FindKeys',
  States: {
    FindKeys: {
      Type: 'Task',
      Resource: { 'Fn::GetAtt': ['findKeys', 'Arn'] },
      Catch: [
        { ErrorEquals: ['KeyNotFound', 'States.Timeout'], Next: 'Refused' },
        { ErrorEquals: ['States.ALL'], Next: 'Refused' },
      ],
      Next: 'EachKey',
    },
    EachKey: {
      Type: 'Map',
      ItemProcessor: {
        StartAt: 'Disable',
        States: {
          Disable: { Type: 'Task', Resource: 'arn:aws:lambda:eu-west-1:111122223333:function:disable', Next: 'Schedule' },
          Schedule: { Type: 'Task', Resource: 'arn:aws:lambda:eu-west-1:111122223333:function:schedule', End: true },
        },
      },
      Next: 'IsDone',
    },
    IsDone: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.check.status', StringEquals: 'Deleted', Next: 'Done' },
        { Variable: '$.check.attempts', NumericGreaterThanEquals: 3, Next: 'Refused' },
      ],
      Default: 'Pause',
    },
    Pause: { Type: 'Wait', TimestampPath: '$.check.nextCheckAt', Next: 'IsDone' },
    Done: { Type: 'Succeed' },
    Refused: { Type: 'Fail', Error: 'Refused' },
  },
};

describe('stateMachineDiagram', () => {
  it('draws every state and transition, in the order the definition lists them', () => {
    expect(stateMachineDiagram(definition)).toBe(
      [
        'stateDiagram-v2',
        '    [*] --> FindKeys',
        '    FindKeys : Task',
        '    FindKeys --> EachKey',
        '    FindKeys --> Refused : KeyNotFound, States.Timeout',
        '    FindKeys --> Refused : any error',
        '    state EachKey {',
        '        [*] --> Disable',
        '        Disable : Task',
        '        Disable --> Schedule',
        '        Schedule : Task',
        '        Schedule --> [*]',
        '    }',
        '    EachKey --> IsDone',
        '    IsDone : Choice',
        '    IsDone --> Done : status = Deleted',
        '    IsDone --> Refused : attempts >= 3',
        '    IsDone --> Pause : otherwise',
        '    Pause : Wait until nextCheckAt',
        '    Pause --> IsDone',
        '    Done : Succeed',
        '    Done --> [*]',
        '    Refused : Fail',
        '    Refused --> [*]',
      ].join('\n'),
    );
  });

  it('labels each Choice branch with its condition and the Default as otherwise', () => {
    const diagram = stateMachineDiagram(definition);
    expect(diagram).toContain('IsDone --> Done : status = Deleted');
    expect(diagram).toContain('IsDone --> Refused : attempts >= 3');
    expect(diagram).toContain('IsDone --> Pause : otherwise');
  });

  it('labels a Catch edge with its errors, States.ALL as any error', () => {
    const diagram = stateMachineDiagram(definition);
    expect(diagram).toContain('FindKeys --> Refused : KeyNotFound, States.Timeout');
    expect(diagram).toContain('FindKeys --> Refused : any error');
  });

  it("draws a Map's inner states as a composite state", () => {
    expect(stateMachineDiagram(definition)).toMatch(/ {4}state EachKey \{\n {8}\[\*\] --> Disable\n[\s\S]* {8}Schedule --> \[\*\]\n {4}\}/);
  });

  it('labels a Wait with what it waits for', () => {
    expect(stateMachineDiagram(definition)).toContain('Pause : Wait until nextCheckAt');
    const fixed = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 3600, End: true } } };
    expect(stateMachineDiagram(fixed)).toContain('Pause : Wait 3600 seconds');
  });

  it('shows state names only, never a Resource', () => {
    const diagram = stateMachineDiagram(definition);
    expect(diagram).not.toMatch(/Fn::GetAtt|findKeys|arn:aws/);
  });

  it('gives a state whose name is not an identifier an id, and shows its name', () => {
    const spaced = { StartAt: 'Check key', States: { 'Check key': { Type: 'Pass', Next: 'end' }, end: { Type: 'Succeed' } } };
    expect(stateMachineDiagram(spaced).split('\n')).toEqual([
      'stateDiagram-v2',
      '    [*] --> s1',
      '    state "Check key" as s1',
      '    s1 : Pass',
      '    s1 --> s2',
      '    state "end" as s2',
      '    s2 : Succeed',
      '    s2 --> [*]',
    ]);
  });
});

describe('describeCondition', () => {
  it('reads combined and type-testing rules', () => {
    expect(
      describeCondition({
        And: [{ Variable: '$.failure', IsPresent: true }, { Not: { Variable: '$.failure.Error', StringEqualsPath: '$.expected.error' } }],
      }),
    ).toBe('failure is present and not Error = error');
  });
});

describe("README's state machine", () => {
  it('is what `erasure diagram` generates from statemachines/erasure.asl.json today', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('\n## The state machine\n'));
    const block = /```mermaid\n([\s\S]*?)\n```/.exec(section)?.[1];

    expect(block, 'README.md has a ```mermaid block under "## The state machine"').toBeDefined();
    expect(block).toBe(stateMachineDiagram(readErasureDefinition()));
  });
});
