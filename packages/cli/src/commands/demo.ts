import { join, resolve } from 'node:path';
import { pathExists } from '@skingan/core';
import { generateDemoSet } from '@skingan/data';
import type { Command } from 'commander';
import { type ExperimentFlags, experimentCommand, withExperimentFlags } from './experiment.js';

type DemoFlags = Omit<ExperimentFlags, 'data'> & { data?: string[] };

export function registerDemo(program: Command): void {
  withExperimentFlags(
    program
      .command('demo')
      .description(
        'the noise → image pipeline end to end, small: on a synthetic demo set skingan draws itself (not medical images), or on --data',
      )
      .option('--out <dir>', 'experiment folder', 'skingan-demo')
      .option('--data <dir...>', 'run on these dataset folders instead of the synthetic demo set'),
    { preset: 'demo' },
  ).action(async (opts: DemoFlags, cmd: Command) => {
    const out = resolve(opts.out);
    let data = opts.data;
    if (!data) {
      const demoData = join(out, 'demo-data');
      if (!(await pathExists(join(demoData, 'labels.csv')))) {
        process.stderr.write(
          `drawing the synthetic demo set (8 classes × 40 images, 64×64) into ${demoData}\n`,
        );
        await generateDemoSet(demoData, { perClass: 40, size: 64, seed: 0 });
      }
      data = [demoData];
    }
    // A demo rerun continues where the last one stopped.
    const resume = opts.resume ?? (await pathExists(join(out, 'experiment.json')));
    const summary = await experimentCommand('noise2img', { ...opts, out, data, resume }, cmd);
    if (summary.report && !opts.json) process.stdout.write(`\nOpen the report: ${summary.report.html}\n`);
  });
}
