"""AdapterHub (`adapters`) on PyTorch eager: the reference for bench/adapters.ts.

Usage: python bench/adapterhub_bench.py '<json>' where json = {"config": {...HF BertConfig...},
"batch": B, "seq": L, "threads": n, "repeats": r, "ns": [2, 4, 8, 16], "reduction_factor": 16,
"minilm": "<dir or null>"}. Prints one JSON line; every timing is [best, median, worst] in seconds.

Cases (fp32, eager, torch.set_num_threads(threads), dropout on while training):
  plain_forward       BertAdapterModel + classification head, no adapter active, no_grad, eval
  sta_train           one SeqBn adapter (reduction 16) + head, train_adapter, AdamW(lr 1e-4):
                      zero_grad, forward, CE loss, backward, step
  fusion_train[N]     N SeqBn adapters + dynamic AdapterFusion + head, train_adapter_fusion,
                      AdamW(lr 5e-5): zero_grad, forward, CE + fusion regulariser, backward, step
  fusion_forward[N]   the same model, eval, no_grad forward (logits)
The batch is the one bench/adapters.ts builds (same ids, same padding, same labels).
"""
import json
import sys
import time


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return [times[0], times[len(times) // 2], times[-1]]


def make_batch(torch, vocab, B, L):
    n = B * L
    ids = torch.tensor([1 + ((i * 7919) % (vocab - 1)) for i in range(n)], dtype=torch.long).view(B, L)
    mask = torch.ones(B, L, dtype=torch.long)
    mask[B // 2:, L - L // 4:] = 0
    types = torch.zeros(B, L, dtype=torch.long)
    labels = torch.tensor([i % 2 for i in range(B)], dtype=torch.long)
    return ids, mask, types, labels


def run_cases(torch, adapters, model, ns, rf, batch, repeats, plain=True):
    from adapters import Fuse, SeqBnConfig

    ids, mask, types, labels = batch
    out = {}
    model.add_classification_head("bench", num_labels=2)
    nmax = max(ns) if ns else 1
    for i in range(nmax):
        model.add_adapter(f"a{i}", config=SeqBnConfig(reduction_factor=rf))

    if plain:
        model.set_active_adapters(None)
        model.active_head = "bench"
        model.eval()

        def plain_forward():
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask, token_type_ids=types)

        out["plain_forward"] = timed(plain_forward, repeats)

    # Single-task adapter training step.
    model.train_adapter("a0")
    model.active_head = "bench"
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)

    def sta_step():
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
        loss.backward()
        opt.step()

    out["sta_train"] = timed(sta_step, repeats)
    del opt

    out["fusion_train"] = {}
    out["fusion_forward"] = {}
    for n in ns:
        f = Fuse(*[f"a{i}" for i in range(n)])
        model.add_adapter_fusion(f, "dynamic")
        model.train_adapter_fusion(f)
        model.active_head = "bench"
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=5e-5)

        def fusion_step():
            opt.zero_grad(set_to_none=True)
            loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
            reg = model.base_model.get_fusion_regularization_loss()
            if reg is not None:
                loss = loss + reg
            loss.backward()
            opt.step()

        out["fusion_train"][str(n)] = timed(fusion_step, repeats)
        del opt
        model.eval()

        def fusion_forward():
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask, token_type_ids=types)

        out["fusion_forward"][str(n)] = timed(fusion_forward, repeats)
        model.delete_adapter_fusion(f)
    return out


def main():
    args = json.loads(sys.argv[1])
    import torch
    import transformers
    import adapters
    from adapters import BertAdapterModel
    from transformers import BertConfig

    torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    B, L = args["batch"], args["seq"]
    repeats = args["repeats"]
    rf = args.get("reduction_factor", 16)
    result = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "adapters": adapters.__version__,
        "threads": torch.get_num_threads(),
    }

    cfg = BertConfig(**args["config"])
    model = BertAdapterModel(cfg)
    result["attn"] = getattr(model.config, "_attn_implementation", "eager")
    batch = make_batch(torch, cfg.vocab_size, B, L)
    result["base"] = run_cases(torch, adapters, model, args["ns"], rf, batch, repeats)
    del model

    minilm = args.get("minilm")
    if minilm:
        model = BertAdapterModel.from_pretrained(minilm)
        batch = make_batch(torch, model.config.vocab_size, B, L)
        result["minilm"] = run_cases(torch, adapters, model, args.get("minilm_ns", [8]), rf, batch, repeats)
        del model
    print(json.dumps(result))


if __name__ == "__main__":
    main()
