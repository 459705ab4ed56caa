// Prints the C++ sources of a folder for binding.gyp, one per line, so the file lists live
// in one place (the folders) for both node-gyp and CMake. Usage:
//   node scripts/gyp-sources.cjs <dir> [baseline|avx2|avx512]
// baseline: every *.cpp except *_avx2.cpp / *_avx512.cpp; avx2 / avx512: only those.
const fs = require('fs');
const path = require('path');
const [dir, kind = 'baseline'] = process.argv.slice(2);
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpp')).sort() : [];
const pick = files.filter((f) => {
  const isa = f.endsWith('_avx512.cpp') ? 'avx512' : f.endsWith('_avx2.cpp') ? 'avx2' : 'baseline';
  return isa === kind;
});
process.stdout.write(pick.map((f) => path.posix.join(dir, f)).join('\n'));
