import type { TestProject } from 'vitest/node';
import { HAVE_ISIC_FULLRES, ISIC_FULLRES, resolveTestImages, SHARED_DATA } from './test-data.js';

/**
 * vitest globalSetup: resolves the test images once per run, hands them to the test files
 * (`testImages()`), and says once what stands in for missing real data.
 */
export default async function setup(project: TestProject): Promise<void> {
  const images = await resolveTestImages();
  project.provide('skinganTestImages', images);
  const missing = [
    images.real ? '' : `image tests run on the SYNTHETIC demo set ${images.dir}`,
    HAVE_ISIC_FULLRES ? '' : `the tests on real photographs (${ISIC_FULLRES}) are skipped`,
  ].filter(Boolean);
  if (missing.length) {
    console.log(
      `skingan tests: no ${images.real ? 'isic-fullres' : 'real data'} in ${SHARED_DATA} (SKINGAN_SHARED_DATA moves it): ${missing.join('; ')}`,
    );
  }
}
