import type * as tf from '@tensorflow/tfjs';

/** One layer call of a functional model: which symbolic tensors it reads and writes. */
export interface PlanStep {
  layer: tf.layers.Layer;
  inputs: number[];
  output: number;
}

export interface LayerPlan {
  input: number;
  output: number;
  steps: PlanStep[];
  /** How many steps read each tensor id. */
  readers: Map<number, number>;
}

const plans = new WeakMap<tf.LayersModel, LayerPlan>();

/**
 * The layer calls of a single-input, single-output functional model in topological order
 * (`model.layers` order), with each layer called once, as the networks of this package are.
 */
export function layerPlan(model: tf.LayersModel): LayerPlan {
  const cached = plans.get(model);
  if (cached) return cached;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`layerPlan: ${model.name} must have one input and one output`);
  }
  const input = model.inputs[0]!.id;
  const steps: PlanStep[] = [];
  const readers = new Map<number, number>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const nodes = layer.inboundNodes.filter((n) => n.inputTensors.length > 0);
    if (nodes.length !== 1 || nodes[0]!.outputTensors.length !== 1) {
      throw new Error(
        `layerPlan: layer ${layer.name} of ${model.name} must be called exactly once, with one output`,
      );
    }
    const node = nodes[0]!;
    const inputs = node.inputTensors.map((t) => t.id);
    for (const id of inputs) readers.set(id, (readers.get(id) ?? 0) + 1);
    steps.push({ layer, inputs, output: node.outputTensors[0]!.id });
  }
  const plan = { input, output: model.outputs[0]!.id, steps, readers };
  plans.set(model, plan);
  return plan;
}

/**
 * `model.apply(x)` for training, with less memory: tfjs-layers keeps every layer's output until
 * the whole model has run; here each intermediate is disposed as soon as its last reader has run.
 * What a layer's gradient needs survives anyway (the gradient tape holds its own reference), so
 * this only frees what backprop will not read. `x` stays owned by the caller.
 */
export function applyEager(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  const plan = layerPlan(model);
  const values = new Map<number, tf.Tensor>([[plan.input, x]]);
  const left = new Map(plan.readers);
  for (const step of plan.steps) {
    const ins = step.inputs.map((id) => values.get(id)!);
    const out = step.layer.apply(ins.length === 1 ? ins[0]! : ins) as tf.Tensor;
    values.set(step.output, out);
    for (const id of step.inputs) {
      const n = (left.get(id) ?? 1) - 1;
      left.set(id, n);
      if (n === 0 && id !== plan.input) {
        values.get(id)!.dispose();
        values.delete(id);
      }
    }
  }
  return values.get(plan.output)!;
}
