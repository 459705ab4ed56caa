"""AdapterHub (`adapters`) on PyTorch eager: the reference for bench/adapters.ts.

Two ways to run it:

  python bench/adapterhub_bench.py '<json>'
      json = {"config": {...HF BertConfig...}, "batch": B, "seq": L, "threads": n, "repeats": r,
      "ns": [2, 4, 8, 16], "reduction_factor": 16, "minilm": "<dir or null>", "minilm_ns": [8]}.
      Runs every case (one warm-up, then r timed calls each) and prints one JSON line; every
      timing is [best, median, worst] in seconds.

  python bench/adapterhub_bench.py --serve
      What bench/adapters.ts uses, so that it can alternate our calls with these in the same
      noise window. Reads one JSON command per line from stdin and answers one JSON line each:
        {"op": "init", "config": {...} | "dir": "<HF folder>", "batch", "seq", "threads", "nmax",
         "reduction_factor"}                           -> versions, trainable parameter counts
        {"op": "setup", "case": "plain" | "sta" | "fusion_train" | "fusion_forward", "n": N}
                                                       -> {"trainable": parameters that train}
        {"op": "run"}                                  -> {"t": seconds of one call of that case}
        {"op": "quit"}

Cases (fp32, eager, torch.set_num_threads(threads), dropout on while training):
  plain           BertAdapterModel + classification head, no adapter active; eval, no_grad forward
  sta             one SeqBn adapter (reduction 16) + head, train_adapter, AdamW(lr 1e-4):
                  zero_grad, forward, CE loss, backward, step
  fusion_train    N SeqBn adapters + dynamic AdapterFusion + head, train_adapter_fusion,
                  AdamW(lr 5e-5): zero_grad, forward, CE + fusion value regulariser, backward, step
  fusion_forward  the same model, eval, no_grad forward (logits)
The batch is the one bench/adapters.ts builds (same ids, same padding, same labels).
"""
import json
import logging
import sys
import time


def make_batch(torch, vocab, B, L):
    n = B * L
    ids = torch.tensor([1 + ((i * 7919) % (vocab - 1)) for i in range(n)], dtype=torch.long).view(B, L)
    mask = torch.ones(B, L, dtype=torch.long)
    mask[B // 2:, L - L // 4:] = 0  # some padding, as in real batches
    types = torch.zeros(B, L, dtype=torch.long)
    labels = torch.tensor([i % 2 for i in range(B)], dtype=torch.long)
    return ids, mask, types, labels


class Bench:
    """One BertAdapterModel with a head and nmax adapters; `setup` picks a case, `run` times one call."""

    def __init__(self, cmd):
        import torch
        import transformers
        import adapters
        from adapters import BertAdapterModel, SeqBnConfig
        from transformers import BertConfig

        transformers.logging.set_verbosity_error()
        logging.getLogger("adapters").setLevel(logging.ERROR)  # "adapters available but none are activated"
        self.torch = torch
        torch.set_num_threads(cmd["threads"])
        torch.manual_seed(0)
        if cmd.get("dir"):
            self.model = BertAdapterModel.from_pretrained(cmd["dir"])
        else:
            self.model = BertAdapterModel(BertConfig(**cmd["config"]))
        self.versions = {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "adapters": adapters.__version__,
            "threads": torch.get_num_threads(),
            "attn": getattr(self.model.config, "_attn_implementation", "eager"),
        }
        self.batch = make_batch(torch, self.model.config.vocab_size, cmd["batch"], cmd["seq"])
        self.model.add_classification_head("bench", num_labels=2)
        for i in range(max(1, cmd.get("nmax", 1))):
            self.model.add_adapter(f"a{i}", config=SeqBnConfig(reduction_factor=cmd.get("reduction_factor", 16)))
        self.fusion = None
        self.fn = None
        self.opt = None

    def _fuse(self, n):
        from adapters import Fuse

        f = Fuse(*[f"a{i}" for i in range(n)])
        if self.fusion is not None and self.fusion[0] != n:
            self.model.delete_adapter_fusion(self.fusion[1])
            self.fusion = None
        if self.fusion is None:
            self.model.add_adapter_fusion(f, "dynamic")
            self.fusion = (n, f)
        return f

    def setup(self, case, n=None):
        torch, model = self.torch, self.model
        ids, mask, types, labels = self.batch
        self.opt = None
        if case == "plain":
            model.set_active_adapters(None)
            model.active_head = "bench"
            model.eval()

            def fn():
                with torch.no_grad():
                    model(input_ids=ids, attention_mask=mask, token_type_ids=types)
        elif case in ("sta", "fusion_train"):
            if case == "sta":
                model.train_adapter("a0")
                lr, reg = 1e-4, False
            else:
                model.train_adapter_fusion(self._fuse(n))
                lr, reg = 5e-5, True
            model.active_head = "bench"
            model.train()
            opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
            self.opt = opt

            def fn():
                opt.zero_grad(set_to_none=True)
                loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
                if reg:
                    r = model.base_model.get_fusion_regularization_loss()
                    if r is not None:
                        loss = loss + r
                loss.backward()
                opt.step()
        elif case == "fusion_forward":
            model.set_active_adapters(self._fuse(n))
            model.active_head = "bench"
            model.eval()

            def fn():
                with torch.no_grad():
                    model(input_ids=ids, attention_mask=mask, token_type_ids=types)
        else:
            raise ValueError(f"unknown case {case!r}")
        self.fn = fn
        return sum(p.numel() for p in model.parameters() if p.requires_grad) if case in ("sta", "fusion_train") else 0

    def run(self):
        t = time.perf_counter()
        self.fn()
        return time.perf_counter() - t


def timed(bench, repeats):
    bench.run()  # warm-up
    times = sorted(bench.run() for _ in range(repeats))
    return [times[0], times[len(times) // 2], times[-1]]


def one_shot(args):
    common = {k: args[k] for k in ("batch", "seq", "threads")}
    common["reduction_factor"] = args.get("reduction_factor", 16)
    repeats = args["repeats"]
    result = {}
    for key, extra, ns in (
        ("base", {"config": args["config"]}, args["ns"]),
        ("minilm", {"dir": args.get("minilm")}, args.get("minilm_ns", [8])),
    ):
        if key == "minilm" and not extra["dir"]:
            continue
        b = Bench({**common, **extra, "nmax": max(ns)})
        result.update(b.versions)
        out = {"fusion_train": {}, "fusion_forward": {}}
        b.setup("plain")
        out["plain_forward"] = timed(b, repeats)
        b.setup("sta")
        out["sta_train"] = timed(b, repeats)
        for n in ns:
            b.setup("fusion_train", n)
            out["fusion_train"][str(n)] = timed(b, repeats)
            b.setup("fusion_forward", n)
            out["fusion_forward"][str(n)] = timed(b, repeats)
        result[key] = out
        del b
    print(json.dumps(result), flush=True)


def serve():
    bench = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            if op == "init":
                bench = None
                bench = Bench(cmd)
                reply = {"ok": True, **bench.versions}
            elif op == "setup":
                reply = {"ok": True, "trainable": bench.setup(cmd["case"], cmd.get("n"))}
            elif op == "run":
                reply = {"ok": True, "t": bench.run()}
            elif op == "quit":
                print(json.dumps({"ok": True}), flush=True)
                return
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except Exception as e:  # report, keep serving
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve()
    else:
        one_shot(json.loads(sys.argv[1]))
