/** How the main job talks: headings, steps stamped with the virtual time, details, and failures. */
export interface Narrator {
  heading(text: string): void;
  line(text: string): void;
  step(virtualTime: Date, text: string): void;
  detail(text: string): void;
  json(value: unknown): void;
  failure(text: string): void;
}

export function narrator(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Narrator {
  return {
    heading: (text) => write(`\n== ${text}`),
    line: (text) => write(`   ${text}`),
    step: (virtualTime, text) => write(`   [${virtualTime.toISOString().slice(0, 23).replace('T', ' ')} virtual] ${text}`),
    detail: (text) => write(`      ${text}`),
    json: (value) => write(JSON.stringify(value, null, 2).replace(/^/gm, '      ')),
    failure: (text) => write(`\n✗ ${text}`),
  };
}
