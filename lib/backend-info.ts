import { binding, type NativeBackendInfo, type NativeBackendOptions } from './binding.js';
import { nativeSync } from './errors.js';

export type BackendInfo = NativeBackendInfo;

/** Which backend, GEMM provider, instruction set and thread count a configuration uses. */
export function backendInfo(options: NativeBackendOptions = {}): BackendInfo {
  return nativeSync(() => binding().backendInfo(options));
}
