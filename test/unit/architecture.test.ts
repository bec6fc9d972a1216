import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The seams of docs/architecture.md, checked on every `npm test`: a message goes source → decode →
 * buffer → sink, and every import points one way. Shared records live in src/records.ts.
 */
const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every file's imports of other src files, as paths relative to src ('writers/batch.ts'). */
const imports = new Map(
  sourceFiles(SRC).map((file) => {
    const specs = [
      ...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g),
    ];
    const targets = specs.map((m) =>
      relative(SRC, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))),
    );
    return [relative(SRC, file), targets] as const;
  }),
);

const RULES: { from: RegExp; mayNotImport: RegExp; why: string }[] = [
  {
    from: /^consumers\//,
    mayNotImport: /^(writers\/|bars\/|pipeline\.ts|compose\.ts)/,
    why: 'sources never import the sink or the pipeline',
  },
  {
    from: /^transform\//,
    mayNotImport: /^(writers\/|consumers\/|bars\/|pipeline\.ts|compose\.ts)/,
    why: 'decoders never import sources, sinks or the pipeline',
  },
  {
    from: /^writers\//,
    mayNotImport: /^(consumers\/|transform\/(?!copy-format)|pipeline\.ts|compose\.ts)/,
    why: 'the sink never imports sources, decoders or the pipeline (only the COPY column lists)',
  },
  {
    from: /^bars\//,
    mayNotImport:
      /^(consumers\/|writers\/|transform\/(?!zone-offset|civil|decimal)|pipeline\.ts|compose\.ts)/,
    why: 'the bar step sees records, the database and pure time and decimal maths only',
  },
  { from: /^records\.ts$/, mayNotImport: /./, why: 'the shared records depend on nothing' },
  {
    from: /^pipeline\.ts$/,
    mayNotImport: /^compose\.ts$/,
    why: 'the pipeline takes its ports; only the composition root builds them',
  },
];

describe('import rules (docs/architecture.md)', () => {
  it('finds the source files and their imports', () => {
    expect(imports.get('pipeline.ts')).toContain('records.ts');
    expect(imports.size).toBeGreaterThan(40);
  });

  it.each(RULES)('$from: $why', ({ from, mayNotImport }) => {
    const broken = [...imports]
      .filter(([file]) => from.test(file))
      .flatMap(([file, targets]) => targets.filter((t) => mayNotImport.test(t)).map((t) => `${file} → ${t}`));
    expect(broken).toEqual([]);
  });

  it('only the composition root builds the pipeline', () => {
    const builders = [...imports]
      .filter(([, targets]) => targets.includes('pipeline.ts'))
      .map(([file]) => file);
    expect(builders).toEqual(['compose.ts']);
  });
});
