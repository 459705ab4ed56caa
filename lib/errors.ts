// Typed errors. Every error the library throws on purpose is an AdapterFusionError with a
// stable `code`; native failures arrive with an ERR_AF_* code and are rewrapped here.

export type ErrorCode =
  | 'ERR_AF_INVALID_ARGUMENT'
  | 'ERR_AF_INVALID_FILE'
  | 'ERR_AF_SHAPE_MISMATCH'
  | 'ERR_AF_IO'
  | 'ERR_AF_UNSUPPORTED'
  | 'ERR_AF_OUT_OF_MEMORY'
  | 'ERR_AF_DISPOSED'
  | 'ERR_AF_NATIVE_LOAD'
  | 'ERR_AF_INTERNAL';

export class AdapterFusionError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A value passed by the caller is wrong (type, range, shape, ids out of range). */
export class InvalidArgumentError extends AdapterFusionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AF_INVALID_ARGUMENT', message, options);
  }
}
/** A file exists but is malformed (bad JSON, bad safetensors, missing tensors). */
export class InvalidFileError extends AdapterFusionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AF_INVALID_FILE', message, options);
  }
}
/** Tensor shapes disagree with the model configuration. */
export class ShapeMismatchError extends AdapterFusionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AF_SHAPE_MISMATCH', message, options);
  }
}
/** A file or folder cannot be opened, read or written. */
export class IoError extends AdapterFusionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AF_IO', message, options);
  }
}
/** Valid input this build does not handle (a dtype, an activation, a device). */
export class UnsupportedError extends AdapterFusionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AF_UNSUPPORTED', message, options);
  }
}
/** A method was called on a disposed model. */
export class DisposedError extends AdapterFusionError {
  constructor(message = 'the model has been disposed') {
    super('ERR_AF_DISPOSED', message);
  }
}
/** The native addon could not be loaded. */
export class NativeLoadError extends AdapterFusionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AF_NATIVE_LOAD', message, options);
  }
}

const byCode: Record<string, new (message: string, options?: { cause?: unknown }) => AdapterFusionError> = {
  ERR_AF_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_AF_INVALID_FILE: InvalidFileError,
  ERR_AF_SHAPE_MISMATCH: ShapeMismatchError,
  ERR_AF_IO: IoError,
  ERR_AF_UNSUPPORTED: UnsupportedError,
};

/**
 * Rewraps an error thrown by the addon into its typed class. TypeErrors and RangeErrors from
 * argument checks stay what they are (they already name the argument) and keep their code.
 */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err instanceof AdapterFusionError || err instanceof TypeError || err instanceof RangeError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_AF_DISPOSED') return new DisposedError(err.message);
  const cls = typeof code === 'string' ? byCode[code] : undefined;
  if (cls) return new cls(err.message, { cause: err });
  if (typeof code === 'string' && code.startsWith('ERR_AF_')) {
    return new AdapterFusionError(code as ErrorCode, err.message, { cause: err });
  }
  return err;
}

/** Awaits a native promise, rewrapping its rejection. */
export async function native<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromNative(err);
  }
}

/** Runs a synchronous native call, rewrapping what it throws. */
export function nativeSync<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw fromNative(err);
  }
}
