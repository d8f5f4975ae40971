import { Command, Option } from 'commander';
import { registerAcgan } from './commands/acgan.js';
import { registerClassifier } from './commands/classifier.js';
import { registerCyclegan } from './commands/cyclegan.js';
import { registerData } from './commands/data.js';
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExperiment } from './commands/experiment.js';
import { registerFeatures } from './commands/features.js';
import { registerMetrics } from './commands/metrics.js';
import { registerPrf } from './commands/prf.js';
import { registerReport } from './commands/report.js';
import { registerTuring } from './commands/turing.js';
import { registerWeights } from './commands/weights.js';
import { registerWorker } from './commands/worker.js';
import { VERSION } from './version.js';

/**
 * The `skingan` command tree. Each command group lives in `commands/<group>.ts`. With `json`,
 * commander's own usage errors are not printed: main.ts prints them as JSON.
 */
export function createProgram(options: { json?: boolean } = {}): Command {
  const program = new Command('skingan')
    .description(
      'Synthesize dermoscopic skin-lesion images with GANs (ACGAN, CycleGAN) and measure whether they make a lesion classifier better.',
    )
    .version(VERSION, '-V, --version')
    .addOption(
      new Option(
        '--backend <name>',
        'force a tfjs backend (node-gpu, node, wasm, cpu); default: fastest usable',
      ).env('SKINGAN_BACKEND'),
    )
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .showHelpAfterError(options.json ? false : '(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => (options.json ? undefined : write(str)) });

  registerDoctor(program);
  registerDemo(program);
  registerData(program);
  registerAcgan(program);
  registerCyclegan(program);
  registerClassifier(program);
  registerWeights(program);
  registerPrf(program);
  registerMetrics(program);
  registerFeatures(program);
  registerExperiment(program);
  registerReport(program);
  registerTuring(program);
  registerWorker(program);
  return program;
}
