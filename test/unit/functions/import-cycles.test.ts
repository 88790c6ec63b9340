import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

type ImportGraph = Map<string, string[]>;

const functionsDir = resolve(import.meta.dirname, '../../../functions');

// Static, type-only, re-exports and dynamic imports alike: a cycle through `import type` still
// ties the modules' meanings together, even though it vanishes at run time.
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.\.?\/[^'"]+)['"]/g;

function relativeImportsOf(source: string): string[] {
  return [...source.matchAll(RELATIVE_IMPORT)].map((match) => match[1]!);
}

function importGraphOf(dir: string): ImportGraph {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file));
  return new Map(files.map((file) => [file, relativeImportsOf(readFileSync(file, 'utf8')).map((specifier) => resolve(dirname(file), specifier))]));
}

/** Every cycle a depth-first walk closes, each as the path from a module back to itself. */
function cyclesIn(graph: ImportGraph): string[][] {
  const onPath: string[] = [];
  const done = new Set<string>();
  const cycles: string[][] = [];
  const visit = (module: string) => {
    onPath.push(module);
    for (const imported of graph.get(module) ?? []) {
      const start = onPath.indexOf(imported);
      if (start >= 0) cycles.push([...onPath.slice(start), imported]);
      else if (!done.has(imported)) visit(imported);
    }
    onPath.pop();
    done.add(module);
  };
  for (const module of graph.keys()) if (!done.has(module)) visit(module);
  return cycles;
}

describe('the import graph of functions/', () => {
  const graph = importGraphOf(functionsDir);
  const named = (path: string) => relative(functionsDir, path);

  it('has no cycle', () => {
    expect(cyclesIn(graph).map((cycle) => cycle.map(named).join(' -> '))).toEqual([]);
  });

  it('is read whole: every relative import names a file that exists', () => {
    const unresolved = [...graph].flatMap(([module, imports]) => imports.filter((imported) => !existsSync(imported)).map((imported) => `${named(module)} imports ${named(imported)}`));
    expect(graph.size).toBeGreaterThan(50);
    expect(unresolved).toEqual([]);
  });

  it('finds a cycle, however it is imported', () => {
    const sources = {
      '/a.ts': "import type { B } from './b.ts';",
      '/b.ts': "export { c } from './c.ts';",
      '/c.ts': "const a = await import('./a.ts');",
    };
    const planted: ImportGraph = new Map(Object.entries(sources).map(([file, source]) => [file, relativeImportsOf(source).map((specifier) => resolve('/', specifier))]));
    expect(cyclesIn(planted)).toEqual([['/a.ts', '/b.ts', '/c.ts', '/a.ts']]);
  });
});
