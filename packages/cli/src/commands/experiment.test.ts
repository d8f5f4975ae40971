import { describe, expect, it } from 'vitest';
import { type ExperimentSummary, summaryText } from './experiment.js';

const whole: ExperimentSummary = {
  kind: 'noise2img',
  dir: '/x',
  tables: [
    {
      name: 'table-6-2',
      md: '/x/tables/table-6-2.md',
      csv: '/x/tables/table-6-2.csv',
      json: '/x/tables/table-6-2.json',
    },
  ],
  report: { html: '/x/report.html', md: '/x/report.md' },
  jobs: { total: 3, failed: 0, skipped: 0 },
  failed: [],
  incomplete: [],
};

describe('experiment summary (stdout)', () => {
  it('a finished experiment: where its tables and report are, nothing else', () => {
    expect(summaryText(whole)).toBe(
      'tables:\n  table-6-2: /x/tables/table-6-2.{md,csv,json}\nreport: /x/report.html\n',
    );
  });

  it('an experiment stopped part-way: the rows its tables lack are named, with how to finish them', () => {
    const stopped = {
      ...whole,
      jobs: { total: 9, failed: 0, skipped: 4 },
      incomplete: ['acgan-250', 'cyclegan-250'],
    };
    expect(summaryText(stopped).split('\n').at(-2)).toBe(
      'incomplete: these tables lack acgan-250, cyclegan-250 (4 job(s) not run); --resume runs what is missing and rewrites them',
    );
  });

  it('a failed job: its log, and the rows it cost', () => {
    const failed = {
      ...whole,
      jobs: { total: 9, failed: 1, skipped: 1 },
      failed: [{ id: 'classifier/acgan-250/seed-1', log: '/x/jobs/c/log.txt', error: 'NaN loss' }],
      incomplete: ['acgan-250'],
    };
    const lines = summaryText(failed).split('\n');
    expect(lines).toContain('failed: classifier/acgan-250/seed-1 (log: /x/jobs/c/log.txt)');
    expect(lines).toContain(
      'incomplete: these tables lack acgan-250 (1 job(s) not run, 1 failed); --resume runs what is missing and rewrites them',
    );
  });
});
