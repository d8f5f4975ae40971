import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { ISIC2019, pathExists, SkinganError } from '@skingan/core';
import { generateDemoSet } from '@skingan/data';
import type { Command } from 'commander';
import { MANIFEST } from '../experiment/manifest.js';
import { flagClasses } from '../options.js';
import { type ExperimentFlags, experimentCommand, withExperimentFlags } from './experiment.js';

type DemoFlags = Omit<ExperimentFlags, 'data'> & { data?: string[]; classes?: string };

export function registerDemo(program: Command): void {
  withExperimentFlags(
    program
      .command('demo')
      .description(
        'the noise → image pipeline end to end, small: on a synthetic demo set skingan draws itself (not medical images), or on --data',
      )
      .option('--out <dir>', 'experiment folder', 'skingan-demo')
      .option('--data <dir...>', 'run on these dataset folders instead of the synthetic demo set')
      .option(
        '--classes <list>',
        'comma-separated classes of the synthetic demo set (default: all 8); fewer classes, fewer jobs',
      ),
    { preset: 'demo' },
  ).action(async (opts: DemoFlags, cmd: Command) => {
    const out = resolve(opts.out);
    let data = opts.data;
    if (!data) {
      const classes = opts.classes ? flagClasses(ISIC2019, opts.classes, '--classes') : [...ISIC2019.classes];
      const demoData = join(out, 'demo-data');
      if (!(await pathExists(join(demoData, 'labels.csv')))) {
        process.stderr.write(
          `drawing the synthetic demo set (${classes.length} classes × 40 images, 64×64) into ${demoData}\n`,
        );
        await generateDemoSet(demoData, { perClass: 40, size: 64, seed: 0, classes });
      } else {
        await sameClasses(demoData, classes);
      }
      data = [demoData];
    } else if (opts.classes) {
      throw new SkinganError(
        '--classes chooses the classes of the synthetic demo set; it does not go with --data',
        {
          code: 'USAGE',
          hint: 'use `skingan data subset --classes …` to narrow a dataset',
        },
      );
    }
    // A demo rerun continues where the last one stopped.
    const resume = opts.resume ?? (await pathExists(join(out, MANIFEST)));
    const summary = await experimentCommand('noise2img', { ...opts, out, data, resume }, cmd);
    if (summary.report && !opts.json) process.stdout.write(`\nOpen the report: ${summary.report.html}\n`);
  });
}

/** A rerun continues on the demo set it drew; other classes would mix two experiments in one folder. */
async function sameClasses(demoData: string, classes: readonly string[]): Promise<void> {
  const meta = JSON.parse(await fs.readFile(join(demoData, 'dataset.json'), 'utf8')) as {
    classes?: string[];
  };
  if (meta.classes && meta.classes.join(',') !== classes.join(',')) {
    throw new SkinganError(
      `the demo in this folder was drawn with the classes ${meta.classes.join(',')}, not ${classes.join(',')}`,
      { code: 'USAGE', file: demoData, hint: 'rerun with the same --classes, or choose another --out' },
    );
  }
}
