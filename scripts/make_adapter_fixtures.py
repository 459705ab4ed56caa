#!/usr/bin/env python3
"""Golden fixtures for adapterfusion's bottleneck adapters, AdapterFusion and prediction heads, computed with
the AdapterHub library (`adapters`) on Hugging Face `transformers`.

Run from the repository root with the reference venv (see fixtures/adapters/README.md):

    .venv-ref/bin/python scripts/make_adapter_fixtures.py

Writes (overwriting) fixtures/adapters/:
  base/config.json, base/model.safetensors      the tiny BERT every case starts from (dropout 0)
  <case>/golden.safetensors                     inputs, logits, hidden states, fusion attentions, loss,
                                                gradients and a 10-step AdamW trajectory (F32)
  <case>/config.json                            what the case is (adapter/fusion/head configs, optimiser, ...)
  <case>/saved/<name>/                          the case's *initial* adapters/head/fusion, saved by AdapterHub's
                                                own save_adapter/save_head/save_adapter_fusion, safetensors form
  <case>/saved-bin/<name>/                      the same in PyTorch .bin form (pfeiffer, houlsby, fusion-dynamic)

Deterministic: numpy generators with fixed seeds, one torch thread, float64 maths, golden files written by
make_fixtures.write_safetensors (sorted __metadata__), and the random `serialization_id` that torch.save puts
into every .bin zip replaced by zeros (CRC fixed up). Two runs give byte-identical files.

Before writing, every case is checked (the script aborts on failure):
  * every saved folder reloads into a fresh BertAdapterModel with load_adapter/load_head/load_adapter_fusion
    and reproduces the golden logits exactly (float64, max |diff| = 0);
  * an independent re-implementation of docs docs/ARCHITECTURE.md, "What the library computes" (direct form) and section 2 (regrouped fusion)
    reproduces AdapterHub's logits, hidden states and fusion attentions, and the direct form's autograd
    gradients equal AdapterHub's;
  * central finite differences (float64) on two entries of every trainable tensor;
  * train mode == eval mode (all dropout probabilities are 0);
  * fusion-dynamic: the AdapterTrainer emulation (trainer.* tensors) equals a real adapters.AdapterTrainer run
    when `accelerate` is importable (it is not in .venv-ref; the check is skipped with a message otherwise).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import math
import shutil
import struct
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import init_weights, rms, write_safetensors  # noqa: E402  (also sets one torch thread)

import adapters  # noqa: E402
import transformers  # noqa: E402
from adapters import (  # noqa: E402
    AdapterFusionConfig,
    BertAdapterModel,
    DoubleSeqBnConfig,
    Fuse,
    SeqBnConfig,
)
from adapters.methods.modeling import BertFusion  # noqa: E402
from transformers import BertConfig, BertModel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "adapters"
BASE_DIR = OUT / "base"
BASE_NAME_OR_PATH = "fixtures/adapters/base"  # recorded as "model_name" in the saved AdapterHub JSON files

torch.set_num_threads(1)
transformers.logging.set_verbosity_error()
logging.getLogger("adapters").setLevel(logging.ERROR)

VERSIONS = {
    "adapters_version": adapters.__version__,
    "transformers_version": transformers.__version__,
    "torch_version": torch.__version__,
}

BASE_SEED = 2000
BASE_CFG = dict(hidden_size=48, num_attention_heads=3, num_hidden_layers=2, intermediate_size=80, vocab_size=97,
                max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
                pad_token_id=0, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
D = BASE_CFG["hidden_size"]
NL = BASE_CFG["num_hidden_layers"]

LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
WD = 0.01
STEPS = 10

# ----------------------------------------------------------------------------------------------
# cases

CLS_SEGMENTS = [[(0, 6), (1, 5)], [(0, 4), (1, 3)], [(0, 4)]]  # B=3, L=11, lengths 11, 7, 4
MC_SEGMENTS = [  # B=2 examples x 3 choices, L=9: (context, choice) pairs
    [[(0, 4), (1, 3)], [(0, 4), (1, 5)], [(0, 4), (1, 2)]],
    [[(0, 3), (1, 4)], [(0, 3), (1, 2)], [(0, 3), (1, 6)]],
]

PFEIFFER = "SeqBnConfig"
HOULSBY = "DoubleSeqBnConfig"

CASES = [
    {"name": "pfeiffer", "seed": 2101,
     "adapters": {"a": (PFEIFFER, dict(reduction_factor=8))},
     "head": ("cls", "classification", 3), "train": ("adapter", "a"), "bin": True},
    {"name": "houlsby", "seed": 2102,
     "adapters": {"h": (HOULSBY, dict(reduction_factor=4))},
     "head": ("h", "classification", 3), "train": ("adapter", "h"), "bin": True},
    {"name": "pfeiffer-options", "seed": 2103,
     "adapters": {"g": (PFEIFFER, dict(reduction_factor=2, non_linearity="gelu", leave_out=[0], init_weights="bert"))},
     "head": ("cls", "classification", 3), "train": ("adapter", "g"), "bin": False},
    {"name": "pfeiffer-tanh", "seed": 2104,
     "adapters": {"t": (PFEIFFER, dict(reduction_factor=16, non_linearity="tanh", leave_out=[1]))},
     "head": ("cls", "classification", 3), "train": ("adapter", "t"), "bin": False},
    {"name": "fusion-dynamic", "seed": 2105,
     "adapters": {"a": (PFEIFFER, dict(reduction_factor=8)), "b": (PFEIFFER, dict(reduction_factor=4)),
                  "c": (PFEIFFER, dict(reduction_factor=16))},
     "fusion": ("dynamic", {}), "qk_gain": 0.45,
     "head": ("cls", "classification", 3), "train": ("fusion", None), "bin": True, "trainer": True},
    {"name": "fusion-static", "seed": 2106,
     "adapters": {"a": (PFEIFFER, dict(reduction_factor=8)), "b": (PFEIFFER, dict(reduction_factor=4)),
                  "c": (PFEIFFER, dict(reduction_factor=16))},
     "fusion": ("static", {}), "qk_gain": 0.45,
     "head": ("cls", "classification", 3), "train": ("fusion", None), "bin": False},
    {"name": "fusion-dynamic-temperature", "seed": 2107,
     "adapters": {"a": (PFEIFFER, dict(reduction_factor=8)), "b": (PFEIFFER, dict(reduction_factor=4)),
                  "c": (PFEIFFER, dict(reduction_factor=16))},
     "fusion": ("dynamic", {"temperature": True}), "qk_gain": 3.0,
     "head": ("cls", "classification", 3), "train": ("fusion", None), "bin": False},
    {"name": "multiple-choice", "seed": 2108,
     "adapters": {"a": (PFEIFFER, dict(reduction_factor=8))},
     "head": ("mc", "multiple_choice", 3), "train": ("adapter", "a"), "bin": False},
    {"name": "regression", "seed": 2109,
     "adapters": {"a": (PFEIFFER, dict(reduction_factor=4))},
     "head": ("reg", "classification", 1), "train": ("adapter", "a"), "bin": False},
]

INIT_DOC = (
    "numpy default_rng(case seed), parameters in named_parameters() order, rounded to float32: adapter_down W "
    "N(0,1)/sqrt(D), adapter_down b 0.2*N, adapter_up W N(0,1)/sqrt(r), adapter_up b 0.2*N; fusion query/key W "
    "qk_gain*N(0,1)/sqrt(D), query/key b 0.2*N, value W = I + 0.05*N(0,1); head Linear W N(0,1)/sqrt(fan_in), "
    "b 0.2*N. AdapterHub's own initialisation runs first (torch.manual_seed(case seed)) and is then overwritten."
)

# ----------------------------------------------------------------------------------------------
# helpers


def strip(name: str) -> str:
    return name[5:] if name.startswith("bert.") else name


def fix_torch_zip(path: Path) -> None:
    """torch.save writes a random `<archive>/.data/serialization_id`; overwrite it with zeros (same length,
    CRC32 fixed in the local and the central header) so reruns are byte-identical. The file still loads."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        infos = [i for i in z.infolist() if i.filename.endswith("/.data/serialization_id")]
        if not infos:
            return
        info = infos[0]
        old = z.read(info)
    assert info.compress_type == zipfile.ZIP_STORED
    new = b"0" * len(old)
    crc = zlib.crc32(new) & 0xFFFFFFFF
    off = info.header_offset
    assert data[off:off + 4] == b"PK\x03\x04"
    flags = struct.unpack_from("<H", data, off + 6)[0]
    nlen, elen = struct.unpack_from("<HH", data, off + 26)
    doff = off + 30 + nlen + elen
    assert bytes(data[doff:doff + len(old)]) == old
    data[doff:doff + len(old)] = new
    if not flags & 0x8:
        struct.pack_into("<I", data, off + 14, crc)
    else:  # data descriptor after the data: [sig] crc csize usize
        dd = doff + len(old)
        if data[dd:dd + 4] == b"PK\x07\x08":
            dd += 4
        struct.pack_into("<I", data, dd, crc)
    # central directory entry
    name = info.filename.encode()
    pos = 0
    found = False
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n2 = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + n2]) == name:
            struct.pack_into("<I", data, pos + 16, crc)
            found = True
            break
        pos += 4
    assert found
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None


def base_config() -> BertConfig:
    return BertConfig(**BASE_CFG)


def make_base() -> None:
    rng = np.random.default_rng(BASE_SEED)
    torch.manual_seed(BASE_SEED)
    model = BertModel(base_config()).eval()  # with pooler (unused by the heads: use_pooler=False)
    init_weights(model, rng)
    if BASE_DIR.exists():
        shutil.rmtree(BASE_DIR)
    BASE_DIR.mkdir(parents=True)
    model.save_pretrained(BASE_DIR, safe_serialization=True)
    assert sorted(p.name for p in BASE_DIR.iterdir()) == ["config.json", "model.safetensors"]


def load_base(dtype=torch.float32) -> BertAdapterModel:
    m, info = BertAdapterModel.from_pretrained(BASE_DIR, attn_implementation="eager", dtype=dtype,
                                               output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    m.config.name_or_path = BASE_NAME_OR_PATH
    return m


def adapter_config(kind: str, kw: dict):
    return SeqBnConfig(**kw) if kind == PFEIFFER else DoubleSeqBnConfig(**kw)


def fusion_names(case) -> list[str]:
    return list(case["adapters"].keys())


def build_model(case: dict, rng: np.random.Generator) -> BertAdapterModel:
    torch.manual_seed(case["seed"])
    m = load_base(torch.float32)
    for name, (kind, kw) in case["adapters"].items():
        m.add_adapter(name, config=adapter_config(kind, kw))
    if "fusion" in case:
        fk, fkw = case["fusion"]
        m.add_adapter_fusion(Fuse(*fusion_names(case)), AdapterFusionConfig.load(fk, **fkw))
    hname, htype, n = case["head"]
    if htype == "classification":
        m.add_classification_head(hname, num_labels=n)
    else:
        m.add_multiple_choice_head(hname, num_choices=n)
    # weights
    gain = case.get("qk_gain", 1.0)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if not (".adapters." in name or ".adapter_fusion_layer." in name or name.startswith("heads.")):
                continue
            shape = tuple(p.shape)
            nrm = rng.standard_normal(shape)
            leaf = name.split(".")[-1]
            if ".adapter_fusion_layer." in name:
                if ".value." in name:
                    v = np.eye(D) + 0.05 * nrm
                elif leaf == "weight":
                    v = gain * nrm / math.sqrt(shape[1])
                else:
                    v = 0.2 * nrm
            elif leaf == "weight":
                v = nrm / math.sqrt(shape[1])
            else:
                v = 0.2 * nrm
            p.copy_(torch.from_numpy(v.astype(np.float32)))
    m.active_head = hname
    if case["train"][0] == "adapter":
        m.train_adapter(case["train"][1])
    else:
        m.train_adapter_fusion(Fuse(*fusion_names(case)))
    m.active_head = hname
    return m


def make_inputs(case: dict, rng: np.random.Generator):
    V = BASE_CFG["vocab_size"]
    mc = case["head"][1] == "multiple_choice"
    if mc:
        L = 9
        segs = MC_SEGMENTS
        shape = (len(segs), len(segs[0]), L)
    else:
        L = 11
        segs = CLS_SEGMENTS
        shape = (len(segs), L)
    ids = np.zeros(shape, np.int32)
    tt = np.zeros(shape, np.int32)
    am = np.zeros(shape, np.int32)
    flat = [s for row in segs for s in row] if mc else segs
    ids2, tt2, am2 = ids.reshape(-1, L), tt.reshape(-1, L), am.reshape(-1, L)
    for b, seg in enumerate(flat):
        pos = 0
        for t, count in seg:
            tt2[b, pos:pos + count] = t
            pos += count
        ids2[b, :pos] = rng.integers(1, V, size=pos)
        am2[b, :pos] = 1
    ids2[0, 1] = V - 1
    B = shape[0]
    hname, htype, n = case["head"]
    if htype == "multiple_choice":
        labels = np.array([1, 2], np.int32)[:B]
    elif n == 1:
        labels = rng.standard_normal(B).astype(np.float32)
    else:
        labels = np.array([2, 0, 1], np.int32)[:B]
    return ids, tt, am, labels


def to_torch(ids, tt, am, labels):
    lab = torch.from_numpy(labels)
    lab = lab.double() if labels.dtype == np.float32 else lab.long()
    return (torch.from_numpy(ids).long(), torch.from_numpy(tt).long(), torch.from_numpy(am).long(), lab)


def fusion_modules(m) -> list[BertFusion]:
    return [mod for mod in m.modules() if isinstance(mod, BertFusion)]


def set_T(m, T: float) -> None:
    for f in fusion_modules(m):
        f.T = T


def forward(m, inp, labels=True, **kw):
    ids, tt, am, lab = inp
    return m(input_ids=ids, token_type_ids=tt, attention_mask=am, labels=lab if labels else None, **kw)


def total_loss(m, inp, case):
    """loss = head loss (CE or MSE, mean) [+ 0.01 * sum_layers ||I - W_v||^2 for dynamic fusion]."""
    out = forward(m, inp)
    ce = out.loss
    reg = m.base_model.get_fusion_regularization_loss() if "fusion" in case else None
    return ce, reg, (ce + reg if reg is not None else ce), out


# ----------------------------------------------------------------------------------------------
# independent re-implementation of docs/ARCHITECTURE.md, "What the library computes" (and section 2's regrouped fusion)

ACTS = {
    "relu": torch.relu,
    "swish": lambda x: x * torch.sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "tanh": torch.tanh,
}


def ln(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def lin(x, P, pre, bias=True):
    y = x @ P[pre + ".weight"].T
    return y + P[pre + ".bias"] if bias else y


def design_forward(P: dict, case: dict, inp, T: float = 1.0, fused: bool = False):
    """Returns logits, hidden states (list), fusion probabilities per layer, head loss."""
    ids, tt, am, lab = inp
    L = ids.shape[-1]
    ids, tt, am = ids.reshape(-1, L), tt.reshape(-1, L), am.reshape(-1, L)
    eps = BASE_CFG["layer_norm_eps"]
    H = BASE_CFG["num_attention_heads"]
    dh = D // H
    x = P["embeddings.word_embeddings.weight"][ids] + P["embeddings.position_embeddings.weight"][:L][None] \
        + P["embeddings.token_type_embeddings.weight"][tt]
    x = ln(x, P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"], eps)
    mask = (1.0 - am[:, None, None, :].double()) * torch.finfo(torch.float64).min
    hidden = [x]
    probs = {}
    names = list(case["adapters"].keys())
    cfgs = {n: case["adapter_configs"][n] for n in names}
    fusion = case.get("fusion_config")

    def sublayer(h, xin, lnp, loc_prefix, layer):
        def LN(t):
            return ln(t, P[lnp + ".weight"], P[lnp + ".bias"], eps)
        present = [n for n in names if f"{loc_prefix}.adapters.{n}.adapter_down.0.weight" in P]
        if not present:
            return LN(h + xin)

        def hs_of(n):
            return LN(h + xin) if cfgs[n]["original_ln_before"] else h

        def down(n, hs):
            return ACTS[cfgs[n]["non_linearity"]](lin(hs, P, f"{loc_prefix}.adapters.{n}.adapter_down.0"))

        def up(n, d):
            return lin(d, P, f"{loc_prefix}.adapters.{n}.adapter_up")

        residual = h  # residual_before_ln = true
        if fusion is None:
            n = present[0]
            a = up(n, down(n, hs_of(n))) + residual
            return LN(a + xin)
        hs = hs_of(present[-1])  # the last adapter's pre_forward
        fp = f"{loc_prefix}.adapter_fusion_layer.{','.join(names)}"
        q = lin(hs, P, fp + ".query")
        Wk, bk = P[fp + ".key.weight"], P[fp + ".key.bias"]
        if not fused:
            ups = torch.stack([up(n, down(n, hs)) for n in present], dim=2)  # [T.., N, D]
            k = ups @ Wk.T + bk
            v = ups @ P[fp + ".value.weight"].T if fusion["value"] else ups
            s = (q[:, :, None, :] * k).sum(-1)
            p = torch.softmax(s / T, dim=-1)
            a = (p[..., None] * v).sum(2) + residual
        else:
            qp = q @ Wk  # W_k^T q
            ds = [down(n, hs) for n in present]
            Wus = [P[f"{loc_prefix}.adapters.{n}.adapter_up.weight"] for n in present]
            bus = [P[f"{loc_prefix}.adapters.{n}.adapter_up.bias"] for n in present]
            qbk = (q * bk).sum(-1)
            s = torch.stack([(qp * (d @ Wu.T)).sum(-1) + qp @ bu + qbk for d, Wu, bu in zip(ds, Wus, bus)], -1)
            p = torch.softmax(s / T, dim=-1)
            pd = torch.cat([p[..., i:i + 1] * d for i, d in enumerate(ds)], -1)
            wup = pd @ torch.cat(Wus, 1).T + p @ torch.stack(bus, 0)
            a = (wup @ P[fp + ".value.weight"].T if fusion["value"] else wup) + residual
        probs[layer] = p
        return LN(a + xin)

    for l in range(NL):
        pre = f"encoder.layer.{l}"
        q = lin(x, P, pre + ".attention.self.query").view(x.shape[0], L, H, dh).transpose(1, 2)
        k = lin(x, P, pre + ".attention.self.key").view(x.shape[0], L, H, dh).transpose(1, 2)
        v = lin(x, P, pre + ".attention.self.value").view(x.shape[0], L, H, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + mask, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(x.shape[0], L, D)
        h = lin(ctx, P, pre + ".attention.output.dense")
        x1 = sublayer(h, x, pre + ".attention.output.LayerNorm", pre + ".attention.output", l)
        inter = ACTS["gelu"](lin(x1, P, pre + ".intermediate.dense"))
        h2 = lin(inter, P, pre + ".output.dense")
        x = sublayer(h2, x1, pre + ".output.LayerNorm", pre + ".output", l)
        hidden.append(x)
    hname, htype, n = case["head"]
    cls = x[:, 0]
    z = torch.tanh(lin(cls, P, f"heads.{hname}.1"))
    logits = lin(z, P, f"heads.{hname}.4")
    if htype == "multiple_choice":
        logits = logits.view(-1, n)
        loss = F.cross_entropy(logits, lab)
    elif n == 1:
        loss = ((logits.view(-1) - lab.view(-1)) ** 2).mean()
    else:
        loss = F.cross_entropy(logits.view(-1, n), lab.view(-1))
    return logits, hidden, probs, loss


def design_reg(P: dict, case: dict):
    if "fusion" not in case or not case["fusion_config"]["value"]:
        return None
    fp = ",".join(case["adapters"].keys())
    eye = torch.eye(D, dtype=torch.float64)
    return sum(0.01 * ((eye - P[f"encoder.layer.{l}.output.adapter_fusion_layer.{fp}.value.weight"]) ** 2).sum()
               for l in range(NL))


# ----------------------------------------------------------------------------------------------
# checks


def fd_check(m, inp, case, grads: dict, rng, T0) -> tuple[float, int]:
    """Central differences (float64) on two entries (largest |grad| and a random one) of every trainable tensor."""
    params = dict(m.named_parameters())
    worst, count = 0.0, 0

    def loss_at():
        if T0 is not None:
            set_T(m, T0)
        with torch.no_grad():
            return float(total_loss(m, inp, case)[2])

    for name, g in grads.items():
        p = params[name]
        gf = g.reshape(-1)
        picks = [int(torch.argmax(gf.abs())), int(rng.integers(0, gf.numel()))]
        for idx in picks:
            flat = p.data.view(-1)
            old = float(flat[idx])
            h = 1e-6 * max(1.0, abs(old))
            flat[idx] = old + h
            lp = loss_at()
            flat[idx] = old - h
            lm = loss_at()
            flat[idx] = old
            fd = (lp - lm) / (2 * h)
            an = float(gf[idx])
            worst = max(worst, abs(fd - an) / max(1e-3, abs(an)))
            count += 1
    return worst, count


def reload_check(case, folders: dict, use_safetensors: bool, inp, logits_ref, T0) -> float:
    """A fresh BertAdapterModel from the base checkpoint + AdapterHub's loaders, float64, eval."""
    fresh = load_base(torch.float32)
    names = list(case["adapters"].keys())
    hname = case["head"][0]
    for n in names:
        fresh.load_adapter(str(folders[n]), use_safetensors=use_safetensors, with_head=True)
    if "fusion" in case:
        fresh.load_adapter_fusion(str(folders[",".join(names)]), use_safetensors=use_safetensors)
        fresh.set_active_adapters(Fuse(*names))
    else:
        fresh.set_active_adapters(names[0])
    if hname not in fresh.heads:
        fresh.load_head(str(folders[hname]), use_safetensors=use_safetensors)
    fresh.active_head = hname
    fresh = fresh.double().eval()
    if T0 is not None:
        assert all(f.T == T0 for f in fusion_modules(fresh))
    with torch.no_grad():
        out = forward(fresh, inp, labels=False)
    return float((out.logits - logits_ref).abs().max())


def adamw(params):
    return torch.optim.AdamW(params, lr=LR, betas=BETAS, eps=EPS, weight_decay=WD)


def trajectory(m0, inp, case, names, T0):
    """Plain loop: zero_grad, forward, loss (+ reg), backward, AdamW step; the same batch every step."""
    m = copy.deepcopy(m0)
    if T0 is not None:
        set_T(m, T0)
    params = dict(m.named_parameters())
    opt = adamw([params[n] for n in names])
    losses, ces, regs, Ts = [], [], [], []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        if T0 is not None:
            Ts.append(fusion_modules(m)[0].T)
            assert len({f.T for f in fusion_modules(m)}) == 1
        ce, reg, loss, _ = total_loss(m, inp, case)
        losses.append(float(loss.detach()))
        ces.append(float(ce.detach()))
        regs.append(float(reg.detach()) if reg is not None else 0.0)
        loss.backward()
        opt.step()
    final = {n: params[n].detach().clone() for n in names}
    return losses, ces, regs, Ts, final


def trainer_emulation(m0, inp, case, names, lagged: bool = True):
    """What adapters.AdapterTrainer does (transformers Trainer loop + AdapterTrainerCallback), with
    lr_scheduler_type='constant', max_grad_norm=0 (no clipping), weight_decay=WD:
      * optimizer groups from AdapterTrainer.create_optimizer: weight decay on every trainable parameter except
        names containing 'bias' (its intended exclusion of 'adapter_fusion_layer.*.value' never matches: re.match
        anchors at the start of 'bert.encoder...'), torch AdamW;
      * each step: loss = head loss only; backward; optimizer.step(); model.zero_grad(); THEN (on_step_end)
        get_fusion_regularization_loss().backward() -- so the regulariser's gradient, taken at the updated
        weights, sits in W_v.grad and is added to the NEXT step's CE gradient (none at step 1)."""
    m = copy.deepcopy(m0)
    params = dict(m.named_parameters())
    decay = [params[n] for n in names if "bias" not in n]
    nodecay = [params[n] for n in names if "bias" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    m.zero_grad(set_to_none=True)
    losses = []
    for _ in range(STEPS):
        out = forward(m, inp)
        loss = out.loss
        if not lagged:  # counterfactual: the regulariser in the same step's loss
            loss = loss + m.base_model.get_fusion_regularization_loss()
        loss.backward()
        losses.append(float(out.loss.detach()))
        opt.step()
        m.zero_grad(set_to_none=True)
        reg = m.base_model.get_fusion_regularization_loss()
        if reg is not None and lagged:
            reg.backward()
    final = {n: params[n].detach().clone() for n in names}
    return losses, final


def real_trainer(m0, inp, case, names):
    """Runs adapters.AdapterTrainer itself when accelerate is importable; returns final params or None."""
    try:
        import accelerate  # noqa: F401
    except ImportError:
        return None
    from adapters import AdapterTrainer
    from transformers import TrainingArguments
    m = copy.deepcopy(m0)
    ids, tt, am, lab = inp
    data = [{"input_ids": ids[i], "token_type_ids": tt[i], "attention_mask": am[i], "labels": lab[i]}
            for i in range(ids.shape[0])]
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_train_batch_size=len(data), max_steps=STEPS,
                                 learning_rate=LR, weight_decay=WD, adam_beta1=BETAS[0], adam_beta2=BETAS[1],
                                 adam_epsilon=EPS, lr_scheduler_type="constant", warmup_steps=0,
                                 max_grad_norm=0.0, save_strategy="no", report_to=[], logging_steps=1,
                                 use_cpu=True, seed=0, disable_tqdm=True, dataloader_num_workers=0)
        tr = AdapterTrainer(model=m, args=args, train_dataset=data)
        assert tr.train_adapter_fusion
        with contextlib.redirect_stdout(io.StringIO()):
            tr.train()
        optim_name = str(args.optim)
    params = dict(m.named_parameters())
    return {n: params[n].detach().clone() for n in names}, optim_name


# ----------------------------------------------------------------------------------------------


def save_folders(m, case, case_dir: Path, use_safetensors: bool) -> dict:
    sub = case_dir / ("saved" if use_safetensors else "saved-bin")
    sub.mkdir(parents=True)
    names = list(case["adapters"].keys())
    hname = case["head"][0]
    folders = {}
    for n in names:
        m.save_adapter(str(sub / n), n, use_safetensors=use_safetensors)  # with_head=True: head "n" if it exists
        folders[n] = sub / n
    if "fusion" in case:
        fname = ",".join(names)
        m.save_adapter_fusion(str(sub / fname), fname, use_safetensors=use_safetensors)
        folders[fname] = sub / fname
    if hname not in names:
        m.save_head(str(sub / hname), hname, use_safetensors=use_safetensors)
    folders[hname] = sub / hname
    if not use_safetensors:
        for p in sub.rglob("*.bin"):
            fix_torch_zip(p)
    return folders


def make_case(case: dict) -> dict:
    name = case["name"]
    case_dir = OUT / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    rng = np.random.default_rng(case["seed"])
    m = build_model(case, rng)
    names = list(case["adapters"].keys())
    hname, htype, nlab = case["head"]
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    assert all(".adapters." in n or ".adapter_fusion_layer." in n or n.startswith("heads.") for n in trainable)
    if case["train"][0] == "adapter":
        assert all(".adapter_fusion_layer." not in n for n in trainable)
    else:
        assert all(".adapters." not in n for n in trainable)
    assert any(n.startswith("heads.") for n in trainable), "AdapterHub leaves the heads trainable"

    # fresh AdapterHub values worth reporting (before our overwrite they were the library's init)
    case["adapter_configs"] = {n: m.adapters_config.get(n).to_dict() for n in names}
    if "fusion" in case:
        fc = m.adapters_config.get_fusion(",".join(names))[0]
        case["fusion_config"] = dict(fc.to_dict())

    # -- AdapterHub's own files, from the float32 model (initial weights)
    folders = save_folders(m, case, case_dir, True)
    folders_bin = save_folders(m, case, case_dir, False) if case["bin"] else None

    m = m.double()
    ids_np, tt_np, am_np, lab_np = make_inputs(case, rng)
    inp = to_torch(ids_np, tt_np, am_np, lab_np)
    T0 = 50.0 if case.get("fusion", ("", {}))[1].get("temperature") else None
    if T0 is not None:
        assert all(f.T == T0 and f.reduction == T0 / 1000.0 for f in fusion_modules(m))

    # -- golden forward/backward in train mode (dropout is 0 everywhere). train_adapter*() calls train() on the
    # base model only: the heads keep the mode they were built in (eval after from_pretrained) until
    # model.train(), which HF's Trainer calls; we call it too.
    assert m.bert.training and not m.training and not m.heads[hname].training
    m.train()
    if T0 is not None:
        set_T(m, T0)
    m.zero_grad(set_to_none=True)
    ce, reg, loss, out = total_loss(m, inp, case)
    loss.backward()
    ce, loss = ce.detach(), loss.detach()
    reg = reg.detach() if reg is not None else None
    params = dict(m.named_parameters())
    grads = {n: params[n].grad.detach().clone() for n in trainable}
    assert set(n for n, p in params.items() if p.grad is not None) == set(trainable)
    m.zero_grad(set_to_none=True)
    # eval forward with hidden states and fusion attentions: identical numbers
    m.eval()
    if T0 is not None:
        set_T(m, T0)
    with torch.no_grad():
        ev = forward(m, inp, output_hidden_states=True, output_adapter_fusion_attentions=True)
    m.train()
    d_train_eval = float((ev.logits - out.logits.detach()).abs().max())
    assert d_train_eval == 0.0, d_train_eval
    logits = ev.logits.detach()
    hidden = [h.detach() for h in ev.hidden_states]
    fatt = {}
    if "fusion" in case:
        fa = ev["adapter_fusion_attentions"][",".join(names)]
        assert sorted(fa.keys()) == list(range(NL)) and all(list(v.keys()) == ["output_adapter"] for v in fa.values())
        fatt = {l: torch.from_numpy(np.asarray(fa[l]["output_adapter"])) for l in range(NL)}

    # -- the formulas of docs/ARCHITECTURE.md, independently
    P = {strip(k): v.detach().clone() for k, v in m.state_dict().items()}
    Tuse = T0 if T0 is not None else 1.0
    lg_d, hid_d, pr_d, loss_d = design_forward(P, case, inp, Tuse)
    lg_f, _, pr_f, _ = design_forward(P, case, inp, Tuse, fused=True)
    d_design = {
        "logits": float((lg_d - logits).abs().max()),
        "hidden": max(float((a - b).abs().max()) for a, b in zip(hid_d, hidden)),
        "fusion_p": max([float((pr_d[l] - fatt[l]).abs().max()) for l in fatt] or [0.0]),
        "loss": abs(float(loss_d.detach()) - float(ce)),
        "fused_logits": float((lg_f - logits).abs().max()),
        "fused_p": max([float((pr_f[l] - fatt[l]).abs().max()) for l in fatt] or [0.0]),
    }
    rg_d = design_reg(P, case)
    if reg is not None:
        d_design["reg"] = abs(float(rg_d) - float(reg))
    # gradients of the direct form
    Pg = {k: (v.clone().requires_grad_(True) if ("bert." + k in params and params["bert." + k].requires_grad)
              or (k in params and params[k].requires_grad) else v) for k, v in P.items()}
    _, _, _, ld = design_forward(Pg, case, inp, Tuse)
    rd = design_reg(Pg, case)
    (ld + rd if rd is not None else ld).backward()
    d_design["grads"] = max(float((Pg[strip(n)].grad - grads[n]).abs().max()) for n in trainable)
    for k, v in d_design.items():
        assert v < 1e-11, (k, v)

    # -- finite differences
    fd_err, fd_n = fd_check(m, inp, case, grads, np.random.default_rng(case["seed"] + 7), T0)
    assert fd_err < 2e-5, fd_err

    # -- reload the saved folders
    d_reload = reload_check(case, folders, True, inp, logits, T0)
    assert d_reload == 0.0, d_reload
    d_reload_bin = reload_check(case, folders_bin, False, inp, logits, T0) if folders_bin else None
    if d_reload_bin is not None:
        assert d_reload_bin == 0.0, d_reload_bin

    # -- trajectory
    m_init = copy.deepcopy(m)
    losses, ces, regs, Ts, final = trajectory(m_init, inp, case, trainable, T0)
    assert abs(losses[0] - float(loss)) < 1e-12

    # -- what plain float32 (the same AdapterHub model, eager) achieves against these float64 goldens
    m32 = copy.deepcopy(m_init).float()
    inp32 = inp[:3] + ((inp[3].float() if inp[3].is_floating_point() else inp[3]),)
    if T0 is not None:
        set_T(m32, T0)
    m32.zero_grad(set_to_none=True)
    _, _, l32, o32 = total_loss(m32, inp32, case)
    l32.backward()
    p32 = dict(m32.named_parameters())
    zero_grad_names = [n for n in trainable if rms(grads[n]) < 1e-12]
    _, _, _, _, final32 = trajectory(m32, inp32, case, trainable, T0)
    f32 = {
        "logits": float((o32.logits.detach().double() - logits).abs().max()),
        "grad": max(float((p32[n].grad.double() - grads[n]).abs().max()) for n in trainable),
        "grad_rel": max(float((p32[n].grad.double() - grads[n]).abs().max()) / rms(grads[n])
                        for n in trainable if n not in zero_grad_names),
        "final": max([float((final32[n].double() - final[n]).abs().max()) for n in trainable
                      if n not in zero_grad_names]),
        "final_zero_grad": max([float((final32[n].double() - final[n]).abs().max()) for n in zero_grad_names]
                               or [0.0]),
    }

    tr = None
    if case.get("trainer"):
        tl, tfinal = trainer_emulation(m_init, inp, case, trainable)
        real = real_trainer(m_init, inp, case, trainable)
        if real is None:
            tr_check = "SKIPPED (accelerate not importable)"
        else:
            rfinal, optim_name = real
            dd = max(float((rfinal[n] - tfinal[n]).abs().max()) for n in trainable)
            assert dd < 1e-10, dd
            # ... and it is neither the plain loop nor the same grouping with the regulariser in the same step
            dplain = max(float((rfinal[n] - final[n]).abs().max()) for n in trainable)
            _, nfinal = trainer_emulation(m_init, inp, case, trainable, lagged=False)
            dnolag = max(float((rfinal[n] - nfinal[n]).abs().max()) for n in trainable)
            tr_check = (f"real AdapterTrainer ({optim_name}) vs emulation: max|diff| of final params {dd:.3g}; "
                        f"vs the same without the one-step lag {dnolag:.3g}; vs the plain loop {dplain:.3g}")
        tr = (tl, tfinal, tr_check)

    # -- golden file
    tensors: list[tuple[str, np.ndarray]] = [
        ("input_ids", ids_np), ("token_type_ids", tt_np), ("attention_mask", am_np),
        ("labels", lab_np),
        ("logits", logits.float().numpy()),
    ]
    for i, h in enumerate(hidden):
        tensors.append((f"hidden_states.{i}", h.float().numpy()))
    for l in sorted(fatt):
        tensors.append((f"fusion_attentions.{l}", fatt[l].float().numpy()))
    tensors.append(("loss", np.array([float(loss)], np.float32)))
    if reg is not None:
        tensors.append(("loss_ce", np.array([float(ce)], np.float32)))
        tensors.append(("loss_reg", np.array([float(reg)], np.float32)))
    for n in trainable:
        tensors.append((f"grad.{strip(n)}", grads[n].float().numpy()))
    tensors.append(("trajectory.loss", np.array(losses, np.float32)))
    if reg is not None:
        tensors.append(("trajectory.loss_ce", np.array(ces, np.float32)))
        tensors.append(("trajectory.loss_reg", np.array(regs, np.float32)))
    if T0 is not None:
        tensors.append(("trajectory.T", np.array(Ts, np.float32)))
    for n in trainable:
        tensors.append((f"final.{strip(n)}", final[n].float().numpy()))
    if tr is not None:
        tensors.append(("trainer.trajectory.loss", np.array(tr[0], np.float32)))
        for n in trainable:
            tensors.append((f"trainer.final.{strip(n)}", tr[1][n].float().numpy()))

    loss_doc = {"classification": "CrossEntropyLoss (mean over the batch)",
                "multiple_choice": "CrossEntropyLoss over the choices (mean over the batch)"}[htype]
    if htype == "classification" and nlab == 1:
        loss_doc = "MSELoss(logits.view(-1), labels.view(-1)) (mean)"
    if reg is not None:
        loss_doc += " + 0.01 * sum over layers of ||I - W_v||_F^2 (loss_ce + loss_reg)"
    meta = {
        "case": name,
        **VERSIONS,
        "generator": "scripts/make_adapter_fixtures.py",
        "base": "fixtures/adapters/base",
        "init": INIT_DOC + f" (seed {case['seed']})",
        "loss": loss_doc,
        "optimizer": f"torch.optim.AdamW(lr={LR}, betas={BETAS}, eps={EPS}, weight_decay={WD}) on all trainable "
                     f"parameters, constant lr, no clipping, no scheduler, the same batch for {STEPS} steps",
        "computed": "BertAdapterModel (eager attention) in float64 from the float32 weights as saved; "
                    "dropout probabilities are all 0, so train mode == eval mode; stored as F32",
    }
    if T0 is not None:
        meta["temperature"] = "T starts at 50 in every fusion layer and after every forward T = max(T - 0.05, 1)"
    write_safetensors(case_dir / "golden.safetensors", tensors, meta)

    # -- config.json
    def read_json(p):
        return json.loads(Path(p).read_text())
    saved_files = {str(f.relative_to(case_dir)): sorted(x.name for x in f.iterdir())
                   for f in sorted(set(folders.values()) | (set(folders_bin.values()) if folders_bin else set()))}
    cfg = {
        "case": name,
        "base": "../base",
        "adapters": {n: read_json(folders[n] / "adapter_config.json")["config"] for n in names},
        "bottleneck": {n: {f"encoder.layer.{l}.{loc}": int(params[f"bert.encoder.layer.{l}.{loc}.adapters.{n}"
                                                                  ".adapter_down.0.weight"].shape[0])
                           for l in range(NL) for loc in ("attention.output", "output")
                           if f"bert.encoder.layer.{l}.{loc}.adapters.{n}.adapter_down.0.weight" in params}
                       for n in names},
        "active_setup": f"Fuse({', '.join(repr(n) for n in names)})" if "fusion" in case else names[0],
        "head": read_json(folders[hname] / "head_config.json"),
        "training": {
            "mode": f"train_adapter({names[0]!r})" if case["train"][0] == "adapter"
                    else f"train_adapter_fusion(Fuse({', '.join(repr(n) for n in names)}))",
            "trainable": [strip(n) for n in trainable],
            "optimizer": "torch.optim.AdamW", "lr": LR, "betas": list(BETAS), "eps": EPS, "weight_decay": WD,
            "weight_decay_on": "all trainable parameters", "lr_schedule": "constant", "grad_clipping": None,
            "steps": STEPS, "batch": "the golden inputs, every step",
            "loss": loss_doc,
        },
        "inputs": {
            "shape": list(ids_np.shape),
            "convention": ("[B, num_choices, L]; the model flattens to [B*num_choices, L], logits are [B, num_choices], "
                           "labels [B] = index of the right choice") if htype == "multiple_choice"
                          else "[B, L]; padding on the right (id 0, type 0, mask 0)",
            "labels_dtype": str(lab_np.dtype),
        },
        "init": INIT_DOC + f" (seed {case['seed']})",
        "saved": saved_files,
        "load": ("fresh = BertAdapterModel.from_pretrained(base); fresh.load_adapter(saved/<adapter>, "
                 "use_safetensors=True) for each adapter; "
                 + ("fresh.load_adapter_fusion(saved/" + ",".join(names) + ", use_safetensors=True); "
                    if "fusion" in case else "")
                 + ("fresh.load_head(saved/" + hname + ", use_safetensors=True); " if hname not in names else
                    "(the head is loaded by load_adapter: same name); ")
                 + "then float64 eval forward reproduces `logits` exactly"),
        **VERSIONS,
    }
    if "fusion" in case:
        cfg["fusion"] = read_json(folders[",".join(names)] / "adapter_fusion_config.json")
    if T0 is not None:
        cfg["temperature"] = {"T_initial": T0, "reduction_per_forward": T0 / 1000.0, "floor": 1.0,
                              "note": "per fusion layer, Python float, decremented after EVERY forward "
                                      "(train or eval); golden logits/grads use T = 50 (first forward)"}
    if tr is not None:
        cfg["trainer"] = {
            "what": "trainer.* tensors: what adapters.AdapterTrainer does (see README)",
            "weight_decay_on": "trainable parameters whose name does not contain 'bias' (W_v included)",
            "regularisation": "backward() in on_step_end, after optimizer.step() and zero_grad(): added to the "
                              "next step's gradient",
            "check": ("the script compares this emulation with a real adapters.AdapterTrainer run (TrainingArguments: "
                      "lr_scheduler_type='constant', max_grad_norm=0, weight_decay=0.01, default optim "
                      "adamw_torch_fused) when `accelerate` is importable; see README for the last result"),
        }
    (case_dir / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=False) + "\n")

    # -- stats
    st = {
        "name": name, "trainable": len(trainable), "loss": float(loss), "ce": float(ce),
        "reg": float(reg) if reg is not None else None, "d_design": d_design, "fd": (fd_err, fd_n),
        "reload": d_reload, "reload_bin": d_reload_bin, "traj": losses, "Ts": Ts,
        "logits_rms": rms(logits), "grad_rms": {strip(n): rms(g) for n, g in grads.items()},
        "fatt_sharp": [float(fatt[l][am_np.reshape(fatt[l].shape[:2]).astype(bool)].max(-1).values.mean())
                       for l in sorted(fatt)],
        "move": max(float((final[n] - params[n].detach()).abs().max()) for n in trainable),
        "trainer": tr[2] if tr else None,
        "f32": f32, "zero_grad_names": [strip(n) for n in zero_grad_names],
        "trainer_traj": tr[0] if tr else None,
    }
    return st


def print_case(s: dict) -> None:
    print(f"[{s['name']}] trainable tensors {s['trainable']}; loss {s['loss']:.6f}"
          + (f" (ce {s['ce']:.6f} + reg {s['reg']:.6f})" if s["reg"] is not None else "")
          + f"; rms logits {s['logits_rms']:.3f}")
    g = s["grad_rms"]
    zero = {k: v for k, v in g.items() if v < 1e-12}
    nz = {k: v for k, v in g.items() if v >= 1e-12}
    kmin, kmax = min(nz, key=nz.get), max(nz, key=nz.get)
    print(f"  rms grad.*: min {nz[kmin]:.3g} ({kmin}), median {float(np.median(list(nz.values()))):.3g}, "
          f"max {nz[kmax]:.3g} ({kmax})"
          + (f"; analytically zero: {', '.join(f'{k} {v:.2g}' for k, v in zero.items())}" if zero else ""))
    if s["fatt_sharp"]:
        print("  fusion: mean (valid tokens) of max_n p per layer: " + ", ".join(f"{x:.3f}" for x in s["fatt_sharp"]))
    print("  re-implementation of docs/ARCHITECTURE.md vs AdapterHub, max|diff|: "
          + ", ".join(f"{k} {v:.2g}" for k, v in s["d_design"].items() if s["fatt_sharp"] or "_p" not in k))
    print(f"  finite differences ({s['fd'][1]} entries): max |fd-grad|/max(|grad|,1e-3) = {s['fd'][0]:.3g}")
    print(f"  reload saved/ (safetensors) max|diff| logits = {s['reload']}"
          + (f"; saved-bin/ (.bin) = {s['reload_bin']}" if s["reload_bin"] is not None else ""))
    print("  trajectory.loss: " + ", ".join(f"{x:.5f}" for x in s["traj"])
          + f"; largest parameter change after {STEPS} steps {s['move']:.3g}")
    e = s["f32"]
    print(f"  float32 AdapterHub vs float64 golden (max abs): logits {e['logits']:.2g}, grads {e['grad']:.2g} "
          f"(worst max-abs/rms per tensor {e['grad_rel']:.2g}), final params after {STEPS} steps {e['final']:.2g}"
          + (f", final params of the analytically-zero-gradient tensors {e['final_zero_grad']:.2g}"
             if s["zero_grad_names"] else ""))
    if s["Ts"]:
        print("  trajectory.T: " + ", ".join(f"{x:.2f}" for x in s["Ts"]))
    if s["trainer"]:
        print("  trainer.trajectory.loss: " + ", ".join(f"{x:.5f}" for x in s["trainer_traj"]))
        print("  " + s["trainer"])


def report_library_facts() -> None:
    """Facts about AdapterHub's modules that the README quotes; asserted so a new version cannot change them
    silently."""
    m = load_base(torch.float32)
    for n in "abc":
        m.add_adapter(n, config=SeqBnConfig(reduction_factor=8))
    m.add_adapter_fusion(Fuse("a", "b", "c"), "dynamic")
    f = fusion_modules(m)[0]
    W = f.value.weight.detach()
    off = W[~torch.eye(D, dtype=torch.bool)]
    assert torch.all(torch.diagonal(W) == 1.0) and torch.all(off == torch.tensor(1e-6, dtype=torch.float32))
    assert f.T == 1.0 and isinstance(f.dropout, torch.nn.Dropout)
    std = float(torch.cat([f.query.weight.flatten(), f.key.weight.flatten()]).detach().std())
    print(f"library facts: fresh dynamic fusion W_v: diagonal 1, off-diagonal exactly float32(1e-6) = {float(off[0])!r};"
          f" Q/K init std {std:.4f} (N(0, 0.02)), biases {float(f.query.bias.detach().abs().max())}; "
          f"fusion dropout p = {f.dropout.p} (= attention_probs_dropout_prob, 0 here)")
    cfgd = BertConfig(**{**BASE_CFG, "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.2})
    m2 = BertAdapterModel(cfgd)
    for n in "abc":
        m2.add_adapter(n, config=SeqBnConfig(reduction_factor=8))
    m2.add_adapter_fusion(Fuse("a", "b", "c"), AdapterFusionConfig.load("dynamic", dropout_prob=0.0))
    m2.add_classification_head("x", num_labels=2)
    p_fusion = fusion_modules(m2)[0].dropout.p
    p_head = [mod.p for mod in m2.heads["x"].modules() if isinstance(mod, torch.nn.Dropout)]
    print(f"library facts: with attention_probs_dropout_prob 0.1, hidden_dropout_prob 0.2 and fusion dropout_prob=0.0:"
          f" fusion dropout p = {p_fusion} (0.0 is falsy: falls back), head dropouts {p_head}")
    assert p_fusion == 0.1 and p_head == [0.2, 0.2]


def main() -> int:
    print(f"adapters {adapters.__version__}, transformers {transformers.__version__}, torch {torch.__version__}, "
          f"numpy {np.__version__}")
    OUT.mkdir(parents=True, exist_ok=True)
    make_base()
    report_library_facts()
    for case in CASES:
        print_case(make_case(case))
    print("\nwritten:")
    total = 0
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            size = p.stat().st_size
            total += size
            print(f"  {p.relative_to(ROOT)}  {size:,} B")
    print(f"  total {total:,} B ({total / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
