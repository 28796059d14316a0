"""Reference side of `ember-bench io`: GPT-2 BPE encoding with tiktoken (one thread), saving and
loading the book's GPT-124M state dict with torch.save/torch.load and safetensors.torch, and the
peak memory of one training step.

Usage:
  .venv/bin/python io_bench.py files --text PATH --dir DIR [--quick]   prints one JSON object
  .venv/bin/python io_bench.py rss --threads N                          prints one JSON object
The tokenizer is built from Ember's bundled encoder.json/vocab.bpe with tiktoken's own gpt2
pattern and loader (no download), i.e. exactly tiktoken.get_encoding("gpt2").
"""
import argparse, hashlib, json, os, sys, time

here = os.path.dirname(os.path.abspath(__file__))


def best(f, reps):
    b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter(); f(); b = min(b, time.perf_counter() - t0)
    return b


def gpt2_encoding():
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str
    res = os.path.join(here, "..", "..", "Sources", "EmberLLM", "Resources", "gpt2")
    # The hashes are tiktoken's own for OpenAI's files: the bundled copies must be identical.
    ranks = data_gym_to_mergeable_bpe_ranks(
        os.path.join(res, "vocab.bpe"), os.path.join(res, "encoder.json"),
        vocab_bpe_hash="1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
        encoder_json_hash="196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783")
    return tiktoken.Encoding("gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


def files(args):
    import torch
    from safetensors.torch import load_file, save_file
    from gpt_bench import GPTModel
    torch.set_num_threads(1)
    reps = 1 if args.quick else 3
    out = {}
    enc = gpt2_encoding()
    text = open(args.text, encoding="utf-8").read()
    ids = enc.encode_ordinary(text)
    out["bpe_s"] = best(lambda: enc.encode_ordinary(text), reps)
    out["bpe_tokens"] = len(ids)
    out["bpe_sha256"] = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()

    cfg = {"vocab_size": 50257, "context_length": 256, "emb_dim": 768, "n_heads": 12, "n_layers": 12,
           "drop_rate": 0.1, "qkv_bias": False}
    torch.manual_seed(123)
    sd = GPTModel(cfg).state_dict()
    pth, st = os.path.join(args.dir, "torch.pth"), os.path.join(args.dir, "torch.safetensors")
    def synced(save, path):
        # Ember's saves are atomic and durable (temporary file, fsync, rename); this is the same
        # durability for the reference: its save, then fsync of the file.
        def run():
            save(); fd = os.open(path, os.O_RDONLY); os.fsync(fd); os.close(fd)
        return run
    out["pth_save_s"] = best(lambda: torch.save(sd, pth), reps)
    out["pth_save_fsync_s"] = best(synced(lambda: torch.save(sd, pth), pth), reps)
    out["pth_load_s"] = best(lambda: torch.load(pth, weights_only=True), reps)
    out["st_save_s"] = best(lambda: save_file(sd, st), reps)
    out["st_save_fsync_s"] = best(synced(lambda: save_file(sd, st), st), reps)
    out["st_load_s"] = best(lambda: load_file(st), reps)
    big = {f"copy{i}.{k}": v.clone() for i in range(4) for k, v in sd.items()}
    st4 = os.path.join(args.dir, "torch4x.safetensors")
    save_file(big, st4)
    del big
    out["st4_load_s"] = best(lambda: load_file(st4), reps)
    out["st4_bytes"] = os.path.getsize(st4)
    for p in (pth, st, st4):
        os.remove(p)
    print(json.dumps(out))


def rss(args):
    # VmHWM (/proc/self/status) is this process's peak resident set: unlike getrusage's ru_maxrss,
    # which Linux carries over from the parent across fork+exec, it starts afresh in a new process.
    import torch
    from gpt_bench import GPTModel
    torch.set_num_threads(args.threads)
    def kib():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    start = kib()
    cfg = {"vocab_size": 50257, "context_length": 256, "emb_dim": 768, "n_heads": 12, "n_layers": 12,
           "drop_rate": 0.1, "qkv_bias": False}
    torch.manual_seed(123)
    model = GPTModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)
    x = torch.randint(0, 50257, (2, 256)); y = torch.randint(0, 50257, (2, 256))
    before = kib()
    # Three steps: from the second on, AdamW's state is alive during backward (the steady state).
    model.train()
    first = None
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward(); opt.step()
        first = first or kib()
    print(json.dumps({"start_mib": start / 1024, "before_step_mib": before / 1024,
                      "first_step_peak_mib": first / 1024, "peak_mib": kib() / 1024}))


if __name__ == "__main__":
    sys.path.insert(0, here)
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["files", "rss"])
    ap.add_argument("--text"); ap.add_argument("--dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    files(a) if a.mode == "files" else rss(a)
