// Tolerance checks shared by the tests: max over i of |a-b| / (|b| + max(rms(b), floor)), so
// tiny reference values compare against the tensor's magnitude rather than zero.
export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? Math.sqrt(s / x.length) : 0;
}

export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) return Infinity;
  const scale = Math.max(rms(b), floor) || 1e-30;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + scale);
    if (!(e <= worst)) worst = e; // NaN makes it fail
  }
  return worst;
}
