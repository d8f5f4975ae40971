/**
 * The reference's 'linear' policy: the learning rate is constant for the first
 * `epochs − decayEpochs` epochs, then falls linearly, reaching base/(decayEpochs + 1) in the last
 * epoch (and 0 just after it). For 0-based epoch e with n = epochs − decayEpochs:
 *
 *   factor(e) = 1 − max(0, e + 1 − n) / (decayEpochs + 1)
 *
 * (the authors' `lambda_rule` with epoch_count = 1, stepped once per epoch).
 */
export function lrFactor(epoch: number, epochs: number, decayEpochs: number): number {
  const constant = epochs - decayEpochs;
  return 1 - Math.max(0, epoch + 1 - constant) / (decayEpochs + 1);
}
