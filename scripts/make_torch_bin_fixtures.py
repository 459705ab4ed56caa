#!/usr/bin/env python3
"""Writes fixtures/torch_bin/: small torch.save files for the native .bin reader
(native/core/torch_pickle.h) and the values they must load to.

    .venv-ref/bin/python scripts/make_torch_bin_fixtures.py

Good files (all hold the same tensors; expected values in state_dict.expected.safetensors):
  state_dict.bin      torch.save of an OrderedDict with `_metadata`, as model.state_dict() gives
  proto4.bin          the same as a plain dict, pickle_protocol=4 (FRAME, MEMOIZE, STACK_GLOBAL)
  zip64.bin           state_dict.bin re-packed with ZIP64 extra fields for every size and offset
  cuda_location.bin   state_dict.bin with storage location "cuda:0" (as saved from a GPU)
  empty_dict.bin      torch.save({})
Refused files (each must fail with the error the test names, without running anything):
  legacy.bin, evil_*.bin, truncated.bin, cd_outside.bin, local_outside.bin, missing_storage.bin,
  size_mismatch.bin, stride_oob.bin, deflate.bin, toplevel_list.bin, deep_nesting.bin,
  deep_tuples.bin

The evil_* files would write /tmp/af_torch_pickle_pwned if anything executed them; the test
checks the file does not appear. Nothing here loads them other than torch.load(weights_only=True),
which refuses them too (checked below).
"""
import collections
import io
import os
import struct
import sys
import zipfile
import zlib

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch_bin")
MARKER = "/tmp/af_torch_pickle_pwned"
PREFIX = "bert.encoder.layer.0.output.adapters.a."


def state_dict():
    g = torch.Generator().manual_seed(20240611)

    def randn(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)

    sd = collections.OrderedDict()
    sd[PREFIX + "adapter_down.0.weight"] = randn(4, 8)
    sd[PREFIX + "adapter_down.0.bias"] = randn(4)
    sd[PREFIX + "adapter_up.weight"] = randn(4, 8).t()  # transposed view: strides (1, 8)
    sd[PREFIX + "adapter_up.bias"] = randn(8, dtype=torch.float16)
    sd["heads.a.1.weight"] = randn(3, 5, dtype=torch.bfloat16)
    sd["heads.a.1.bias"] = randn(3, dtype=torch.float64)
    sd["bf16.strided"] = randn(4, 6, dtype=torch.bfloat16)[:, 1:5:2]  # offset 1, strides (6, 2)
    shared = randn(10)
    sd["shared.first"] = shared[0:4]  # two views of one storage
    sd["shared.second"] = shared[4:10].view(2, 3)  # offset 4
    sd["embeddings.position_ids"] = torch.arange(7, dtype=torch.int64).view(1, 7)
    sd["scalar"] = torch.tensor(2.5)  # 0-d
    sd["empty"] = torch.empty(0, 4)
    sd["fusion.query.weight"] = torch.nn.Parameter(randn(2, 2))  # pickled via _rebuild_parameter
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    return sd


# ---- minimal pickle emitter for the hand-made files ----

def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(i):
    return b"K" + bytes([i]) if 0 <= i < 256 else b"J" + struct.pack("<i", i)


def p_global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_tensor(key, storage_type, numel, offset, size, stride):
    pid = p_tuple([p_str("storage"), p_global("torch", storage_type), p_str(key), p_str("cpu"), p_int(numel)])
    args = [pid + b"Q", p_int(offset), p_tuple([p_int(x) for x in size]), p_tuple([p_int(x) for x in stride]),
            b"\x89", p_global("collections", "OrderedDict") + b")R"]
    return p_global("torch._utils", "_rebuild_tensor_v2") + p_tuple(args) + b"R"


def p_dict(items):  # {key: pickled value}, as torch writes a state dict
    return b"\x80\x02}(" + b"".join(p_str(k) + v for k, v in items) + b"u."


def write_archive(path, name, pickle_bytes, storages=(), compress=()):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/data.pkl", pickle_bytes)
        z.writestr(f"{name}/byteorder", "little")
        for key, data in storages:
            method = zipfile.ZIP_DEFLATED if key in compress else zipfile.ZIP_STORED
            z.writestr(zipfile.ZipInfo(f"{name}/data/{key}"), data, compress_type=method)
        z.writestr(f"{name}/version", "3\n")


def repack(src, dst, skip=(), compress=(), rename_pickle=None):
    """Copies src's entries into a Python-written ZIP, optionally dropping, deflating or editing."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if info.filename in skip:
                continue
            data = zin.read(info.filename)
            if rename_pickle and info.filename.endswith("/data.pkl"):
                data = rename_pickle(data)
            method = zipfile.ZIP_DEFLATED if info.filename in compress else zipfile.ZIP_STORED
            zout.writestr(zipfile.ZipInfo(info.filename), data, compress_type=method)


def write_zip64(src, dst):
    """Re-packs src with ZIP64 extra fields everywhere (placeholders 0xFFFFFFFF in the headers),
    the layout torch's writer uses for entries and offsets past 4 GiB."""
    with zipfile.ZipFile(src) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out, cd = bytearray(), bytearray()
    for name, data in entries:
        nb, off, crc, n = name.encode(), len(out), zlib.crc32(data), len(data)
        lextra = struct.pack("<HHQQ", 1, 16, n, n)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(lextra))
        out += nb + lextra + data
        cextra = struct.pack("<HHQQQ", 1, 24, n, n, off)
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                          len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cextra
    cd_off = len(out)
    out += cd
    z64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(cd), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


class EvilSystem:
    def __reduce__(self):
        return (os.system, (f"echo pwned > {MARKER}",))


class EvilEval:
    def __reduce__(self):
        return (eval, (f"__import__('os').system('echo pwned > {MARKER}')",))


def torch_refuses(path):
    try:
        torch.load(path, weights_only=True)
    except Exception:
        return True
    return False


def main():
    os.makedirs(OUT, exist_ok=True)
    out = lambda name: os.path.join(OUT, name)  # noqa: E731
    sd = state_dict()

    # ---- good files ----
    torch.save(sd, out("state_dict.bin"))
    torch.save(dict(sd), out("proto4.bin"), pickle_protocol=4)
    write_zip64(out("state_dict.bin"), out("zip64.bin"))
    cpu, cuda = p_str("cpu"), p_str("cuda:0")

    def to_cuda(pkl):
        assert pkl.count(cpu) == 1, "expected one memoised 'cpu' string"
        return pkl.replace(cpu, cuda)

    repack(out("state_dict.bin"), out("cuda_location.bin"), rename_pickle=to_cuda)
    torch.save({}, out("empty_dict.bin"))
    expected = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    save_file(expected, out("state_dict.expected.safetensors"), metadata={"order": "\n".join(sd.keys())})
    for name in ["state_dict.bin", "proto4.bin", "zip64.bin"]:  # torch itself reads them back the same
        # torch's weights_only unpickler has no FRAME opcode; proto4.bin was written just above.
        back = torch.load(out(name), weights_only=name != "proto4.bin")
        assert list(back.keys()) == list(sd.keys())
        for k, v in back.items():
            assert v.dtype == sd[k].dtype and v.shape == sd[k].shape and v.stride() == sd[k].stride()
            assert torch.equal(v, sd[k]), (name, k)

    # ---- refused files ----
    torch.save({"w": torch.ones(2)}, out("legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save({"w": EvilSystem()}, out("evil_os_system.bin"))
    torch.save({"w": EvilEval()}, out("evil_eval.bin"))
    write_archive(out("evil_torch_load.bin"), "evil_torch_load",
                  p_dict([("w", p_global("torch", "load") + p_str("/dev/null") + b"\x85R")]))
    write_archive(out("evil_inst.bin"), "evil_inst",  # INST pops the MARK'd args and calls os.system
                  p_dict([("w", b"(" + p_str(f"echo pwned > {MARKER}") + b"ios\nsystem\n")]))
    write_archive(out("evil_stack_global.bin"), "evil_stack_global",  # protocol 4 form of a global
                  b"\x80\x04}\x94(\x8c\x01w\x8c\x08builtins\x8c\x04exec\x93" +
                  p_str(f"import os; os.system('echo pwned > {MARKER}')") + b"\x85Ru.")

    data = open(out("state_dict.bin"), "rb").read()
    with open(out("truncated.bin"), "wb") as f:
        f.write(data[: len(data) // 2])
    # Central directory offset moved past the end of the file (in both end records).
    bad = bytearray(data)
    z64 = bad.rfind(b"PK\x06\x06")
    struct.pack_into("<Q", bad, z64 + 48, len(bad) + 4096)
    struct.pack_into("<I", bad, len(bad) - 22 + 16, 0xFFFFFFF0)
    open(out("cd_outside.bin"), "wb").write(bad)
    # First directory entry's local header offset far outside the file.
    bad = bytearray(data)
    cd = struct.unpack_from("<Q", bad, z64 + 48)[0]
    struct.pack_into("<I", bad, cd + 42, 0x7FFFFF00)
    open(out("local_outside.bin"), "wb").write(bad)
    repack(out("state_dict.bin"), out("missing_storage.bin"), skip={"state_dict/data/1"})
    repack(out("state_dict.bin"), out("deflate.bin"), compress={"state_dict/data/0"})

    # Hand-made tensors: 6 floats of storage. The control (stride 3) must load in torch.
    six = struct.pack("<6f", *range(6))
    write_archive(out("stride_oob.bin"), "stride_oob", p_dict([("w", p_tensor("0", "FloatStorage", 6, 0, (2, 3), (4, 1)))]),
                  [("0", six)])
    write_archive(out("size_mismatch.bin"), "size_mismatch",  # pid says 8 elements, entry holds 6
                  p_dict([("w", p_tensor("0", "FloatStorage", 8, 0, (2, 3), (3, 1)))]), [("0", six)])
    control = io.BytesIO()
    write_archive(control, "control", p_dict([("w", p_tensor("0", "FloatStorage", 6, 0, (2, 3), (3, 1)))]), [("0", six)])
    control.seek(0)
    assert torch.equal(torch.load(control, weights_only=True)["w"], torch.arange(6.0).view(2, 3))

    torch.save([torch.ones(2)], out("toplevel_list.bin"))
    write_archive(out("deep_nesting.bin"), "deep_nesting", b"\x80\x02" + b"(" * 5000 + b"N" + b"t" * 5000 + b".")
    write_archive(out("deep_tuples.bin"), "deep_tuples", b"\x80\x02N" + b"\x85" * 19000 + b".")

    for name in ["legacy.bin", "evil_os_system.bin", "evil_eval.bin", "evil_torch_load.bin", "evil_inst.bin",
                 "evil_stack_global.bin", "stride_oob.bin", "size_mismatch.bin", "missing_storage.bin", "truncated.bin"]:
        if name != "legacy.bin":  # torch reads legacy files; we do not
            assert torch_refuses(out(name)), name
    assert not os.path.exists(MARKER), "something executed an evil fixture"

    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(out(name))
        assert size < 20000, (name, size)
        print(f"{size:6d}  fixtures/torch_bin/{name}")
    print(f"torch {torch.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
