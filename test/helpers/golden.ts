// Golden tensors written by scripts/make_fixtures.py, read through the library's own reader.
import { readSafetensors, type Tensor } from '../../lib/index.js';

export async function loadGolden(path: string): Promise<{ get(name: string): Tensor; metadata: Record<string, string>; names: string[] }> {
  const { tensors, metadata } = await readSafetensors(path);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    metadata,
    names: tensors.map((t) => t.name),
    get(name: string): Tensor {
      const t = byName.get(name);
      if (!t) throw new Error(`golden tensor ${name} missing in ${path}`);
      return t;
    },
  };
}
