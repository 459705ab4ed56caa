// Reads PyTorch state-dict files (`torch.save(state_dict, "x.bin")`, e.g. AdapterHub's
// pytorch_adapter.bin) without running anything they contain.
//
// Such a file is a ZIP archive (zip_reader.h) holding `<archive>/data.pkl`, a Python pickle of
// the dict, and one `<archive>/data/<key>` entry per storage (raw little-endian elements). The
// pickle is not executed: a restricted interpreter evaluates it symbolically, knows only the
// opcodes a state dict uses, and resolves only these globals:
//
//   collections.OrderedDict                                  -> an (ordered) dict
//   torch._utils._rebuild_tensor_v2 / _rebuild_tensor       -> a tensor description
//   torch._utils._rebuild_parameter                          -> the tensor it wraps
//   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage
//                                                            -> a storage type (dtype)
//
// Any other global (os.system, builtins.eval, torch.load, ...), any opcode that builds objects
// (INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT*) or a text persistent id is refused with
// Error(Unsupported) naming the file and what was refused; malformed pickles and archives are
// Error(InvalidFile). The top-level object must be a dict whose keys are strings and whose
// values are tensors. Legacy (pre-1.6, non-ZIP) files and big-endian archives are Unsupported.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "safetensors.h"  // DType, f16_to_f32, bf16_to_f32
#include "zip_reader.h"

namespace af {

// One tensor of a state dict: a strided view into a storage entry of the archive, as torch
// saved it (torch.save keeps views, so a transposed weight arrives with transposed strides).
struct TorchTensor {
  std::string name;  // the state-dict key
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements
  int64_t storage_offset = 0;    // in elements
  std::string storage_entry;     // archive entry of the storage, "<archive>/data/<key>"
  uint64_t storage_numel = 0;    // elements in that storage
  std::shared_ptr<const ZipReader> archive;  // keeps the file open for reads

  uint64_t numel() const;       // product of shape (1 for a 0-d tensor)
  bool is_contiguous() const;   // row-major with no gaps (size-1 dims may have any stride)
};

// Opens `path` and returns its tensors in the file's order. Every view is checked to lie inside
// its storage and every storage entry to exist, be stored uncompressed and have the size its
// element count needs, so reads cannot fail on the file's account (short of I/O errors).
std::vector<TorchTensor> load_torch_state_dict(const std::string& path);

// Copies the tensor as contiguous row-major elements of its own dtype (numel * dtype_size
// bytes), gathering non-contiguous views.
void read_raw(const TorchTensor& t, void* dst);
// Copies numel() floats, converting F16, BF16 and F64; other dtypes are Error(Unsupported).
void read_f32(const TorchTensor& t, float* dst);

}  // namespace af
