import { countParams, type Rng } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { initNormal } from './init.js';
import { createPatchDiscriminator } from './patch-discriminator.js';
import { createResnetGenerator, type GeneratorUpsample } from './resnet-generator.js';

/** The four networks: G_A maps A → B, G_B maps B → A; D_A judges B images (real vs G_A's), D_B judges A images. */
export interface CycleGanNets {
  G_A: tf.LayersModel;
  G_B: tf.LayersModel;
  D_A: tf.LayersModel;
  D_B: tf.LayersModel;
}

export const NET_NAMES = ['G_A', 'G_B', 'D_A', 'D_B'] as const;
export type NetName = (typeof NET_NAMES)[number];

export interface NetsConfig {
  ngf: number;
  ndf: number;
  blocks: number;
  dLayers: number;
  /** The generators' upsampling (default `transposed`). */
  upsample?: GeneratorUpsample;
}

/**
 * Builds the four networks. With `rng`, draws their initial weights from it (N(0, 0.02), biases
 * 0); without, they stay zero (to be initialized or loaded later).
 */
export function createCycleGanNets(config: NetsConfig, rng?: Rng): CycleGanNets {
  const g = (name: string) =>
    createResnetGenerator({ ngf: config.ngf, blocks: config.blocks, upsample: config.upsample, name });
  const d = (name: string) => createPatchDiscriminator({ ndf: config.ndf, layers: config.dLayers, name });
  const nets: CycleGanNets = { G_A: g('G_A'), G_B: g('G_B'), D_A: d('D_A'), D_B: d('D_B') };
  if (rng) initNets(nets, rng);
  return nets;
}

/** Draws all four networks' weights from `rng`, in a fixed order (G_A, G_B, D_A, D_B). */
export function initNets(nets: CycleGanNets, rng: Rng): void {
  for (const name of NET_NAMES) initNormal(nets[name], rng);
}

export function disposeNets(nets: CycleGanNets): void {
  for (const name of NET_NAMES) nets[name].dispose();
}

/** Trainable parameters per network. */
export function netParams(nets: CycleGanNets): Record<NetName, number> {
  return Object.fromEntries(NET_NAMES.map((n) => [n, countParams(nets[n]).trainable])) as Record<
    NetName,
    number
  >;
}
