import type * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { lastAxis, layerConfig, single, singleShape } from './layer-io.js';

describe('layer-io', () => {
  it('single and singleShape take the one input (and its shape) whether tfjs passes it alone or in a list', () => {
    expect(single('x')).toBe('x');
    expect(single(['x'])).toBe('x');
    expect(singleShape([null, 8, 8, 3])).toEqual([null, 8, 8, 3]);
    expect(singleShape([[null, 8, 8, 3]])).toEqual([null, 8, 8, 3]);
  });

  it("lastAxis is the input's last dimension, and names the layer when it is unknown", () => {
    const layer = { name: 'conv_1' } as tf.layers.Layer;
    expect(lastAxis(layer, [[null, 8, 8, 3]], 'channel')).toBe(3);
    expect(() => lastAxis(layer, [null, null], 'feature')).toThrow(
      'conv_1: the feature dimension must be known',
    );
  });

  it('layerConfig lists the named fields in the order given', () => {
    const layer = { filters: 4, kernelSize: 3, spectralNorm: false, other: 'x' };
    const config = layerConfig(layer, ['kernelSize', 'filters', 'spectralNorm']);
    expect(Object.entries(config)).toEqual([
      ['kernelSize', 3],
      ['filters', 4],
      ['spectralNorm', false],
    ]);
  });
});
