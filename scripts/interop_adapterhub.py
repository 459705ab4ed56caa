"""Interop, AdapterHub as the client of OUR files.

Loads every case that scripts/interop-export.mjs wrote under fixtures/interop/ours/<case>/ into
the Python AdapterHub library (adapters 1.3, BertAdapterModel on fixtures/adapters/base) with its
own loaders (load_adapter / load_head / load_adapter_fusion, use_safetensors=True), and checks:

  loaded_exactly    every tensor of our weights files is in AdapterHub's model, bit for bit, and
                    every parameter of the loaded modules came from our files (AdapterHub loads
                    keys it does not know silently as nothing, so this is checked explicitly);
  configs_equal     AdapterHub's config objects of the loaded modules equal our "config" JSON,
                    with the same Python types (floats stay floats: isinstance(scaling, float));
  resave_identical  AdapterHub's own save_adapter / save_head / save_adapter_fusion of the loaded
                    modules writes byte-identical JSON and safetensors files;
  logits            AdapterHub's logits (float64 forward of the float32 weights, eval) against
                    ours (float32), max |a-b| / (|b| + rms(b)) <= 1e-5, as test/helpers/compare.ts;
  fusion_attentions the same for the FFN-site fusion weights where a fusion is active.

Writes fixtures/interop/adapterhub_results.json and exits non-zero unless every case passes.

    .venv-ref/bin/python scripts/interop_adapterhub.py
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file

import adapters
import transformers
from adapters import BertAdapterModel, Fuse

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / "fixtures" / "interop" / "ours"
RESULTS = ROOT / "fixtures" / "interop" / "adapterhub_results.json"
BASE = "fixtures/adapters/base"  # relative to ROOT: AdapterHub writes it as model_name
TOL = 1e-5


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / (|b| + rms(b)), as maxRelError in test/helpers/compare.ts."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return float("inf")
    scale = float(np.sqrt(np.mean(b * b))) if b.size else 0.0
    scale = scale or 1e-30
    return float(np.max(np.abs(a - b) / (np.abs(b) + scale))) if b.size else 0.0


def py_types(x):
    """The value with every leaf replaced by its Python type name (to compare int vs float)."""
    if isinstance(x, dict):
        return {k: py_types(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [py_types(v) for v in x]
    return type(x).__name__


def module_prefixes(kind: str, name: str):
    if kind == "adapter":
        return lambda k: f".adapters.{name}." in k
    if kind == "fusion":
        return lambda k: f".adapter_fusion_layer.{name}." in k
    return lambda k: k.startswith(f"heads.{name}.")


def check_weights(model, folder: Path, weights_file: str, kind: str, name: str, problems: list) -> None:
    ours = load_file(str(folder / weights_file))
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    for key, value in ours.items():
        if key not in state:
            problems.append(f"{folder.name}/{weights_file}: {key} is not a parameter of AdapterHub's model")
        elif state[key].dtype != value.dtype or state[key].shape != value.shape or not np.array_equal(state[key], value):
            problems.append(f"{folder.name}/{weights_file}: {key} differs after loading")
    belongs = module_prefixes(kind, name)
    for key in state:
        if belongs(key) and key not in ours:
            problems.append(f"{folder.name}: AdapterHub's {kind} {name} has {key}, which our file lacks")


def compare_config(ours: dict, theirs: dict, what: str, problems: list) -> None:
    if ours != theirs:
        problems.append(f"{what}: config differs: ours {ours} AdapterHub {theirs}")
    elif py_types(ours) != py_types(theirs):
        problems.append(f"{what}: config types differ: ours {py_types(ours)} AdapterHub {py_types(theirs)}")


def compare_resaved(ours_dir: Path, theirs_dir: Path, files: list[str], problems: list) -> None:
    for f in files:
        if not (theirs_dir / f).exists():
            problems.append(f"{ours_dir.name}: AdapterHub's re-save wrote no {f}")
        elif not filecmp.cmp(ours_dir / f, theirs_dir / f, shallow=False):
            problems.append(f"{ours_dir.name}/{f}: AdapterHub's re-save differs from our file")


def run_case(case_dir: Path) -> dict:
    manifest = json.loads((case_dir / "case.json").read_text())
    problems: list[str] = []
    torch.manual_seed(0)
    model, info = BertAdapterModel.from_pretrained(BASE, attn_implementation="eager", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    model.config.name_or_path = BASE

    # AdapterHub's loaders, on our folders: adapters (with a head of the same name, as
    # save_adapter(with_head=True) lays it out), fusion layers, then the other heads.
    folders = {f: case_dir / f for f in manifest["folders"]}
    for a in manifest["adapters"]:
        got = model.load_adapter(str(folders[a]), use_safetensors=True, with_head=True)
        if got != a:
            problems.append(f"load_adapter({a}) returned {got}")
    for f in manifest["fusions"]:
        model.load_adapter_fusion(str(folders[f]), use_safetensors=True)
    for h in manifest["heads"]:
        if h not in model.heads:
            model.load_head(str(folders[h]), use_safetensors=True)
    if sorted(model.heads.keys()) != sorted(manifest["heads"]):
        problems.append(f"heads {sorted(model.heads.keys())} != {manifest['heads']}")

    # Weights, bit for bit, and configs, with their Python types.
    for a in manifest["adapters"]:
        check_weights(model, folders[a], "adapter.safetensors", "adapter", a, problems)
        ours = json.loads((folders[a] / "adapter_config.json").read_text())
        compare_config(ours["config"], model.adapters_config.get(a).to_dict(), f"adapter {a}", problems)
        if not isinstance(model.adapters_config.get(a)["scaling"], float):
            problems.append(f"adapter {a}: scaling is not a float")
    for f in manifest["fusions"]:
        check_weights(model, folders[f], "model_adapter_fusion.safetensors", "fusion", f, problems)
        ours = json.loads((folders[f] / "adapter_fusion_config.json").read_text())
        fusion_config, names = model.adapters_config.get_fusion(f)
        compare_config(ours["config"], dict(fusion_config.to_dict()), f"fusion {f}", problems)
        if names != ours["adapter_names"]:
            problems.append(f"fusion {f}: adapter names {names} != {ours['adapter_names']}")
    for h in manifest["heads"]:
        check_weights(model, folders[h], "model_head.safetensors", "head", h, problems)
        ours = json.loads((folders[h] / "head_config.json").read_text())
        theirs = {k: v for k, v in model.heads[h].config.items() if k != "id2label"}
        compare_config(ours["config"], theirs, f"head {h}", problems)
    loaded_ok = not problems

    # AdapterHub's own re-save of what it loaded: byte for byte our files.
    resave_problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for a in manifest["adapters"]:
            model.save_adapter(str(tmp / a), a, with_head=False, use_safetensors=True)
            compare_resaved(folders[a], tmp / a, ["adapter_config.json", "adapter.safetensors"], resave_problems)
        for f in manifest["fusions"]:
            model.save_adapter_fusion(str(tmp / f), f, with_head=False, use_safetensors=True)
            compare_resaved(folders[f], tmp / f, ["adapter_fusion_config.json", "model_adapter_fusion.safetensors"], resave_problems)
        for h in manifest["heads"]:
            model.save_head(str(tmp / ("head-" + h)), h, use_safetensors=True)
            compare_resaved(folders[h], tmp / ("head-" + h), ["head_config.json", "model_head.safetensors"], resave_problems)
    problems += resave_problems

    # Forward: the active setup and head as ours, float64 from the float32 weights, eval.
    active = manifest["active"]
    model.set_active_adapters(Fuse(*active["fuse"]) if isinstance(active, dict) else active)
    model.active_head = manifest["head"]
    model = model.double().eval()
    expected = load_file(str(case_dir / "expected.safetensors"))
    ids = torch.from_numpy(expected["input_ids"].astype(np.int64))
    types = torch.from_numpy(expected["token_type_ids"].astype(np.int64))
    mask = torch.from_numpy(expected["attention_mask"].astype(np.int64))
    fused = isinstance(active, dict)
    temperatures = sorted({float(m.T) for m in model.modules() if m.__class__.__name__ == "BertFusion"})
    with torch.no_grad():
        out = model(input_ids=ids, token_type_ids=types, attention_mask=mask, output_adapter_fusion_attentions=fused)
    logits = out.logits.numpy()
    want = expected["logits"]
    result = {
        "loaded_exactly": loaded_ok,
        "resave_identical": not resave_problems,
        "logits_max_abs": float(np.max(np.abs(logits.astype(np.float64) - want))) if logits.shape == want.shape else None,
        "logits_max_rel": max_rel(logits, want),
        "logits_shape": list(logits.shape),
    }
    ok = loaded_ok and not resave_problems and result["logits_max_rel"] <= TOL
    if fused:
        fname = ",".join(active["fuse"])
        att = out["adapter_fusion_attentions"][fname]
        worst_abs, worst_rel, layers = 0.0, 0.0, 0
        for layer in sorted(att):
            got = np.asarray(att[layer]["output_adapter"], dtype=np.float64)
            ref = expected.get(f"fusion_attentions.{layer}")
            if ref is None:
                problems.append(f"no fusion_attentions.{layer} in expected.safetensors")
                continue
            if got.shape != ref.shape:
                problems.append(f"fusion_attentions.{layer}: shape {got.shape} vs {ref.shape}")
                worst_rel = float("inf")
                continue
            worst_abs = max(worst_abs, float(np.max(np.abs(got - ref))))
            worst_rel = max(worst_rel, max_rel(got, ref))
            layers += 1
        result.update(fusion_attentions_max_abs=worst_abs, fusion_attentions_max_rel=worst_rel, fusion_layers_compared=layers)
        ok = ok and layers == len(att) and worst_rel <= TOL
        result["fusion_temperature_first_forward"] = temperatures

    # Control: without the adapters (base model + head) the logits must be far from ours, so that
    # the comparison above cannot pass with the adapters silently inactive or not loaded.
    model.set_active_adapters(None)
    with torch.no_grad():
        plain = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.numpy()
    result["control_without_adapters_max_rel"] = max_rel(plain, want)
    if not result["control_without_adapters_max_rel"] > 1e-3:
        problems.append("the adapters do not change the logits: the comparison would not notice a failed load")
    result["problems"] = problems
    result["passed"] = bool(ok and not problems)
    return result


def main() -> int:
    os.chdir(ROOT)
    # set_active_adapters() runs a dummy forward context that warns "none are activated": noise.
    logging.getLogger("adapters.model_mixin").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    cases = sorted(p.name for p in OURS.iterdir() if (p / "case.json").exists())
    if not cases:
        print(f"no cases under {OURS}: run `node scripts/interop-export.mjs` first", file=sys.stderr)
        return 2
    results = {}
    for c in cases:
        try:
            results[c] = run_case(OURS / c)
        except Exception as e:  # a loader that raises is a failed case, recorded as such
            results[c] = {"passed": False, "problems": [f"{type(e).__name__}: {e}"]}
        r = results[c]
        extra = f" fusion rel {r['fusion_attentions_max_rel']:.2e}" if "fusion_attentions_max_rel" in r else ""
        rel = f"logits rel {r['logits_max_rel']:.2e} abs {r['logits_max_abs']:.2e}" if "logits_max_rel" in r else ""
        print(f"{'PASS' if r['passed'] else 'FAIL'} {c}: {rel}{extra}")
        for p in r["problems"]:
            print(f"    {p}")
    doc = {
        "about": "OUR saved files (fixtures/interop/ours, written by scripts/interop-export.mjs) loaded by the "
        "Python AdapterHub library with its own loaders (use_safetensors=True); written by "
        "scripts/interop_adapterhub.py. Per case: weights loaded bit for bit, configs equal with their "
        "Python types, AdapterHub's re-save byte-identical, logits (and fusion attentions) of AdapterHub "
        "(float64) vs ours (float32), max |a-b|/(|b|+rms(b)) against the tolerance.",
        "adapters_version": adapters.__version__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "tolerance": TOL,
        "all_passed": all(r["passed"] for r in results.values()),
        "cases": results,
    }
    RESULTS.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}: {'all passed' if doc['all_passed'] else 'FAILURES'}")
    return 0 if doc["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
