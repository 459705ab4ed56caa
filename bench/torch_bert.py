"""PyTorch eager reference for bench/run.ts: the same BERT work with Hugging Face transformers.

Usage: python bench/torch_bert.py '<json>' where json = {"config": {...HF BertConfig...},
"batch": B, "seq": L, "threads": n, "repeats": r}. Prints one JSON line of timings in seconds.
"""
import json
import sys
import time


def best_of(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), sorted(times)[len(times) // 2]


def main():
    args = json.loads(sys.argv[1])
    import torch
    import transformers
    from transformers import BertConfig, BertModel

    torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    cfg = BertConfig(**args["config"], attn_implementation=args.get("attn", "sdpa"))
    model = BertModel(cfg, add_pooling_layer=False).eval()
    B, L = args["batch"], args["seq"]
    ids = torch.randint(1, cfg.vocab_size, (B, L))
    mask = torch.ones(B, L, dtype=torch.long)
    mask[B // 2:, L - L // 4:] = 0  # some padding, as in real batches
    types = torch.zeros(B, L, dtype=torch.long)
    repeats = args["repeats"]
    out = {"torch": torch.__version__, "transformers": transformers.__version__,
           "threads": torch.get_num_threads(), "attn": cfg._attn_implementation}

    def forward():
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    out["forward"] = best_of(forward, repeats)

    # Backward of the input gradient only: weights frozen, inputs_embeds requires grad.
    for p in model.parameters():
        p.requires_grad_(False)
    grad_out = torch.randn(B, L, cfg.hidden_size)
    times = []
    for i in range(repeats + 1):
        emb = model.embeddings.word_embeddings(ids).detach().requires_grad_(True)
        y = model(inputs_embeds=emb, attention_mask=mask, token_type_ids=types).last_hidden_state
        t = time.perf_counter()
        y.backward(grad_out)
        if i:
            times.append(time.perf_counter() - t)
    out["backward_input"] = (min(times), sorted(times)[len(times) // 2])

    # Full backward: every weight trainable.
    for p in model.parameters():
        p.requires_grad_(True)
    times = []
    for i in range(repeats + 1):
        model.zero_grad(set_to_none=False)
        y = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        t = time.perf_counter()
        y.backward(grad_out)
        if i:
            times.append(time.perf_counter() - t)
    out["backward_full"] = (min(times), sorted(times)[len(times) // 2])

    n = args.get("gemm_n", 2048)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    out["sgemm"] = best_of(lambda: torch.mm(a, b), repeats)
    out["sgemm_n"] = n
    print(json.dumps(out))


if __name__ == "__main__":
    main()
