import { basename, join, resolve } from 'node:path';
import { ISIC2019, writeFileAtomic } from '@skingan/core';
import type { StudyStore } from '@skingan/turing';
import { type Command, InvalidArgumentError } from 'commander';
import { flagClassIndex, intOption, splitList } from '../options.js';
import type { Report } from '../report/model.js';
import { printJson } from '../ui/output.js';
import { Progress } from '../ui/progress.js';
import { reportFor, writeReport } from './report.js';

// @skingan/turing (fastify, better-sqlite3) is imported when a turing command runs, not at start-up.
const turing = () => import('@skingan/turing');

interface CreateFlags {
  real: string;
  synthetic: { name: string; dir: string }[];
  perClass: number;
  out: string;
  seed: number;
  classes?: string[];
  size?: number;
  json?: boolean;
}

/** `skingan turing create|invite|serve|report`: can experts tell real lesion images from synthetic ones? */
export function registerTuring(program: Command): void {
  const t = program
    .command('turing')
    .description(
      'the expert’s test: a blinded study where dermatologists tell real from synthetic images in a small local web app',
    );

  t.command('create')
    .description(
      'draw a blinded, seeded, class-stratified mix of real and synthetic images into a study folder (images under random names, the key in study.sqlite)',
    )
    .requiredOption('--real <dir>', 'real dataset folder (labels.csv + images/)')
    .requiredOption(
      '--synthetic <[name=]dir>',
      'synthetic dataset folder; repeat once per generator (name: the folder name unless given)',
      (v: string, prev: { name: string; dir: string }[] = []) => [...prev, syntheticFlag(v)],
    )
    .requiredOption(
      '--per-class <n>',
      'real images per class; as many synthetic ones',
      intOption('--per-class'),
    )
    .requiredOption('--out <dir>', 'new study folder')
    .option('--seed <n>', 'seed of the draw', intOption('--seed'), 0)
    .option(
      '--classes <list>',
      'classes to draw, e.g. MEL,NV (default: every class a generator produced)',
      splitList,
    )
    .option(
      '--size <px>',
      'side of the square study images (default: the smallest side among the drawn images)',
      intOption('--size'),
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: CreateFlags) => {
      for (const c of opts.classes ?? []) flagClassIndex(ISIC2019, c, '--classes');
      const { createStudy } = await turing();
      let progress: Progress | undefined;
      const r = await createStudy({
        real: opts.real,
        synthetic: opts.synthetic,
        perClass: opts.perClass,
        out: opts.out,
        seed: opts.seed,
        classes: opts.classes,
        size: opts.size,
        onProgress: (done, total) => {
          progress ??= new Progress({ label: 'copy', total, unit: 'images', quiet: opts.json });
          progress.update(done);
        },
      });
      progress?.finish();
      if (opts.json) {
        printJson(r);
        return;
      }
      process.stdout.write(
        `study: ${r.dir}\n  ${r.images} images of ${r.imageSize}×${r.imageSize} px\n` +
          Object.entries(r.perClass)
            .map(
              ([c, n]) =>
                `  ${c}: ${n.real} real, ${Object.entries(n.synthetic)
                  .map(([g, k]) => `${k} ${g}`)
                  .join(', ')}\n`,
            )
            .join('') +
          `next: skingan turing invite ${r.dir} --name "Rater name"\n`,
      );
    });

  t.command('invite')
    .description('add a rater and print their personal link (the token is shown once; only its hash is kept)')
    .argument('<study>', 'study folder')
    .requiredOption('--name <name>', 'the rater’s name (the only rater data the study keeps)')
    .option('--url <base>', 'where the study will be served', 'http://127.0.0.1:8080')
    .option('--json', 'print one JSON object')
    .action(async (dir: string, opts: { name: string; url: string; json?: boolean }) => {
      const { inviteRater } = await turing();
      await withStore(dir, (store) => {
        const inv = inviteRater(store, opts.name);
        const link = `${opts.url.replace(/\/+$/, '')}${inv.path}`;
        if (opts.json) printJson({ rater: inv.rater.name, link });
        else {
          process.stdout.write(
            `${inv.rater.name}: ${link}\n  (keep it private: anyone with the link answers as ${inv.rater.name}; it is not shown again)\n`,
          );
        }
      });
    });

  t.command('serve')
    .description(
      'serve the raters’ web app until Ctrl-C (every answer is on disk before the next image is shown)',
    )
    .argument('<study>', 'study folder')
    .option('--port <n>', 'port (0: any free one)', intOption('--port'), 8080)
    .option(
      '--host <host>',
      'interface to listen on; other machines reach the study only if you say so',
      '127.0.0.1',
    )
    .action(async (dir: string, opts: { port: number; host: string }) => {
      const { serveStudy } = await turing();
      const server = await serveStudy(resolve(dir), { port: opts.port, host: opts.host });
      const raters = server.store.raters().length;
      process.stdout.write(
        `serving ${basename(resolve(dir))} at ${server.url} (${raters} rater${raters === 1 ? '' : 's'}); Ctrl-C to stop\n`,
      );
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });

  t.command('report')
    .description(
      'accuracy with 95% CIs and binomial tests, sensitivity/specificity, AUC, Fleiss’ κ, diagnosis accuracy: report.html, report.md and answers.csv',
    )
    .argument('<study>', 'study folder')
    .option('--out <dir>', 'where to write the report (default: the study folder)')
    .option(
      '--experiment <dir>',
      'also add the Turing section to that experiment’s (or run’s) report.html and report.md (rewritten; `skingan report DIR` alone drops it again)',
    )
    .option('--json', 'print the statistics as one JSON object')
    .action(async (dir: string, opts: { out?: string; experiment?: string; json?: boolean }) => {
      const { analyzeAnswers, analysisToJson, answersCsv, turingTables } = await turing();
      const study = resolve(dir);
      const out = resolve(opts.out ?? study);
      await withStore(study, async (store) => {
        const info = store.info();
        const images = store.images();
        const answers = store.answers();
        const raters = store.raters();
        const analysis = analyzeAnswers(answers);
        await writeFileAtomic(join(out, 'answers.csv'), answersCsv(answers));
        const nReal = images.filter((i) => i.source === 'real').length;
        const generators = [...new Set(images.map((i) => i.generator).filter(Boolean))].join(', ');
        const subtitle = `${images.length} images (${nReal} real, ${images.length - nReal} synthetic from ${generators}), ${raters.length} raters, ${answers.length} answers`;
        const report: Report = {
          title: `Turing test: ${info.name}`,
          subtitle,
          sections: [
            {
              heading: 'Can experts tell real from synthetic?',
              text: [
                'Each rater saw every study image once, in an order of their own, and called it real or synthetic with a confidence from 1 (guessing) to 5 (certain), optionally with a diagnosis. Accuracy near ½ means the synthetic images fooled the raters.',
              ],
              facts: [
                ['study', study],
                ['image size', `${info.imageSize}×${info.imageSize} px`],
                ['raters', raters.map((r) => r.name).join(', ') || '—'],
                ['answers', 'answers.csv'],
              ],
              tables: turingTables(analysis),
            },
          ],
        };
        const paths = await writeReport(out, report);
        let experiment: { html: string; md: string } | undefined;
        if (opts.experiment) {
          const exp = resolve(opts.experiment);
          const base = await reportFor(exp);
          const section = report.sections[0]!;
          base.sections.push({
            ...section,
            heading: `Turing test: ${info.name}`,
            text: [subtitle, ...(section.text ?? [])],
          });
          experiment = await writeReport(exp, base);
        }
        if (opts.json) {
          const files = { ...paths, csv: join(out, 'answers.csv'), experiment: experiment ?? null };
          const stats = analysisToJson(analysis) as object;
          printJson({ study, raters: raters.length, images: images.length, ...stats, files });
          return;
        }
        process.stdout.write(
          `report: ${paths.html}\n        ${paths.md}\n        ${join(out, 'answers.csv')}\n`,
        );
      });
    });
}

/** `name=dir` or `dir` (named after the folder). */
function syntheticFlag(v: string): { name: string; dir: string } {
  const eq = v.indexOf('=');
  const [name, dir] = eq >= 0 ? [v.slice(0, eq), v.slice(eq + 1)] : [basename(resolve(v)), v];
  if (!dir || !name) throw new InvalidArgumentError(`--synthetic must be DIR or NAME=DIR, got "${v}"`);
  return { name, dir };
}

async function withStore<T>(dir: string, use: (store: StudyStore) => T | Promise<T>): Promise<T> {
  const { StudyStore } = await turing();
  const store = StudyStore.open(resolve(dir));
  try {
    return await use(store);
  } finally {
    store.close();
  }
}
