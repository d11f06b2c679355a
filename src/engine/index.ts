/** The in-process engine: a Llama-family model that trains, scores and generates in TypeScript. */
export {
  parseConfig,
  readConfig,
  makeHfConfig,
  SUPPORTED_ARCHITECTURES,
  type ModelConfig,
  type Architecture,
} from "./config.js";
export { Transformer, KVCache, LINEAR_NAMES, type Batch } from "./model.js";
export { loadModel, saveModel, loadWeights } from "./io/checkpoint.js";
export { readSafetensors, writeSafetensors, readCheckpoint, type Tensor, type StoredDtype } from "./io/safetensors.js";
export { HfTokenizer, type ChatMessage } from "./io/tokenizer.js";
export { saveAdapter, loadAdapter } from "./io/peft.js";
export { addLora, mergeLora, removeLora, type LoraOptions } from "./lora.js";
export { AdamW, clipGradNorm, learningRate, type Schedule } from "./optim.js";
export { forwardBackward, trainStep, evaluateLoss, type StepResult } from "./train-step.js";
export { makeTrainBatch, padBatch, type WeightedSequence } from "./sequences.js";
export { nextTokenLogprobs, scoreNextTokens, logSoftmax } from "./score.js";
export { generate, pickToken, type GenerateOptions, type Generation } from "./generate.js";
export { setTrainable, type Param } from "./params.js";
export { Rng } from "../core/random.js";
export { InputError } from "../core/errors.js";
export { kernels, nativeKernels, referenceKernels, setThreads, type Kernels } from "./kernels/index.js";
