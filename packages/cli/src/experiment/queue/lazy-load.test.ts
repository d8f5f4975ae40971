import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../../test-utils/run-cli.js';

/** The built modules `bin.js` loads at start: its static imports, followed within the package. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // `import … from 'x'`, `import 'x'`, `export … from 'x'`; `import('x')` is lazy and not matched.
    for (const m of text.matchAll(/^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('without --queue nothing about Redis is loaded', () => {
  it('the CLI entry point reaches BullMQ only through dynamic imports', () => {
    const { files, packages } = staticGraph(BIN);
    expect(files.has(join(dirname(BIN), 'commands', 'worker.js'))).toBe(true);
    expect(files.has(join(dirname(BIN), 'experiment', 'run-experiment.js'))).toBe(true);
    expect(packages.has('commander')).toBe(true);
    expect(packages.has('bullmq')).toBe(false);
    expect(packages.has('ioredis')).toBe(false);
    expect([...files].filter((f) => f.includes(`${join('experiment', 'queue')}`))).toEqual([]);
    // The same walk does see BullMQ where it is imported statically.
    expect(staticGraph(join(dirname(BIN), 'experiment', 'queue', 'worker.js')).packages.has('bullmq')).toBe(
      true,
    );
  });
});
