import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchChromium } from '../test-utils/chromium.js';
import { runCli } from '../test-utils/run-cli.js';
import { invite, makeCliStudy, type Served, serve } from '../test-utils/turing-study.js';

/** Set to a folder to keep the screenshots (docs/turing/ holds the ones in the repository). */
const SHOTS = process.env.SKINGAN_TURING_SCREENSHOTS;

interface Given {
  verdict: 'real' | 'synthetic';
  confidence: number;
  diagnosis: string;
}

/** What the scripted rater answers for the i-th image: a fixed, varied pattern. */
function script(rater: number, i: number): Given & { keys: string[] } {
  const verdict = (i * 7 + rater * 3) % 5 < 2 ? 'synthetic' : 'real';
  const confidence = 1 + ((i + rater) % 5);
  const dx = i % 3 === 0 ? ['MEL', 'a'] : i % 3 === 1 ? ['NV', 'b'] : ['', ''];
  return {
    verdict,
    confidence,
    diagnosis: dx[0]!,
    keys: [verdict === 'real' ? 'r' : 's', String(confidence), ...(dx[1] ? [dx[1]] : [])],
  };
}

describe.skipIf(!haveChromium)('skingan turing in a browser (Debian’s Chromium)', () => {
  let root: string;
  let server: Served | undefined;
  beforeAll(async () => {
    root = await fs.mkdtemp(join(tmpdir(), 'skingan-turing-e2e-'));
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await fs.rm(root, { recursive: true, force: true });
  });

  it('two raters answer 20 images each with the keyboard, one reloads and changes device mid-way; the report counts match', async () => {
    const study = makeCliStudy(root, 5, 64);
    const raters = ['Dr A', 'Dr B'];
    const links = raters.map((n) => invite(study, n));
    server = await serve(study);
    const browser = await launchChromium();
    const given: Given[][] = [[], []];
    const requests: string[] = [];
    try {
      for (const [r, name] of raters.entries()) {
        const device = async () => {
          const context = await browser.newContext({ viewport: { width: 1000, height: 860 } });
          const p = await context.newPage();
          p.on('request', (req) => requests.push(req.url()));
          await p.goto(server!.url + links[r], { waitUntil: 'load' });
          return p;
        };
        let page = await device();
        for (let i = 0; i < 20; i++) {
          if (r === 1 && i === 10) {
            // Half-answered image, then a reload: nothing was saved, the same image comes back.
            await page.keyboard.press('s');
            await page.reload({ waitUntil: 'load' });
          }
          if (r === 1 && i === 15) {
            await page.context().close();
            page = await device(); // another device: no cookies, only the link
          }
          expect(await page.locator('.count').textContent()).toBe(`${i + 1} / 20`);
          // A string: evaluated in the page, where `document` exists (this file is typed for Node).
          await page.waitForFunction(
            "(() => { const i = document.querySelector('.image img'); return i.complete && i.naturalWidth > 0; })()",
          );
          const s = script(r, i);
          for (const k of s.keys) await page.keyboard.press(k);
          if (r === 0 && i === 4 && SHOTS) {
            await fs.mkdir(SHOTS, { recursive: true });
            await page.screenshot({ path: join(SHOTS, 'rating-page.png') });
          }
          await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
          given[r]!.push({ verdict: s.verdict, confidence: s.confidence, diagnosis: s.diagnosis });
        }
        expect(await page.locator('h1').textContent()).toBe(`Thank you, ${name}`);
        await page.context().close();
      }
      // Everything came from the study server: no CDN, nothing else.
      expect(requests.filter((u) => !u.startsWith(`${server!.url}/`))).toEqual([]);

      const out = join(root, 'report');
      const rep = runCli(['turing', 'report', study, '--out', out, '--json']);
      expect(rep.code).toBe(0);
      const json = JSON.parse(rep.stdout);
      expect(json.answers).toBe(40);
      for (const [r, name] of raters.entries()) {
        const g = json.byRater.find((x: { group: string }) => x.group === name);
        expect(g.answers).toBe(20);
        const saidSynthetic = g.sensitivity.k + (g.specificity.n - g.specificity.k);
        expect(saidSynthetic).toBe(given[r]!.filter((x) => x.verdict === 'synthetic').length);
        expect(g.diagnosisReal.n + g.diagnosisSynthetic.n).toBe(given[r]!.filter((x) => x.diagnosis).length);
      }
      // The CSV has every answer, in the order given.
      const rows = (await fs.readFile(join(out, 'answers.csv'), 'utf8')).trim().split('\n').slice(1);
      expect(rows).toHaveLength(40);
      for (const [r, name] of raters.entries()) {
        const mine = rows.map((l) => l.split(',')).filter((f) => f[0] === name);
        expect(mine.map((f) => ({ verdict: f[6], confidence: Number(f[7]), diagnosis: f[8] }))).toEqual(
          given[r],
        );
      }

      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      await page.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' });
      const captions = await page.locator('table caption').allTextContents();
      expect(captions[0]).toBe('Telling real from synthetic: per rater and pooled');
      const pooled = page.locator('tr', { hasText: 'all raters' }).first();
      expect(await pooled.locator('td').nth(1).textContent()).toBe('40');
      if (SHOTS) await page.screenshot({ path: join(SHOTS, 'report.png') });
    } finally {
      await browser.close();
    }
  });
});
