// Reading and writing safetensors files through the core's strict reader/writer.
import { binding, type NativeTensor, type NativeTensorToWrite } from './binding.js';
import { native } from './errors.js';

export type Tensor = NativeTensor;
export type TensorToWrite = NativeTensorToWrite;

/** Reads every tensor of a .safetensors file (validated as strictly as the reference parser). */
export async function readSafetensors(path: string): Promise<{ tensors: Tensor[]; metadata: Record<string, string> }> {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  return native(() => binding().readSafetensors(path));
}

/** Writes a .safetensors file atomically (temp file + rename): a failed write leaves any old file intact. */
export async function writeSafetensors(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = {}): Promise<void> {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  if (!Array.isArray(tensors)) throw new TypeError('tensors must be an array');
  return native(() => binding().writeSafetensors(path, tensors, metadata));
}
