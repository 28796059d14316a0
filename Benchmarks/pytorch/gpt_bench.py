"""PyTorch side of Ember's GPT benchmarks: the book's chapter-4 GPTModel (same shapes and code
structure) with the KV cache of the chapter-4 bonus ("KV cache", gpt_with_kv_cache.py: cache_k /
cache_v as non-persistent buffers grown with torch.cat, ptr_current_pos, current_pos, reset),
timed on the CPU with the same thread count as Ember.

Usage: .venv/bin/python gpt_bench.py [--threads N] [--quick]
Prints one JSON object: seconds per training step (batch 2 x 256, dropout 0.1, AdamW), eval forward,
model construction, and generation tokens/s without and with the KV cache (200 new tokens from a
4-token prompt, greedy); with --bf16 also cached generation with bfloat16 parameters.
"""
import argparse, json, time
import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))
        # KV cache: absent until used, never in state_dict(), moved by .to().
        self.register_buffer("cache_k", None, persistent=False)
        self.register_buffer("cache_v", None, persistent=False)
        self.ptr_current_pos = 0

    def forward(self, x, use_cache=False):
        b, t, _ = x.shape
        q = self.W_query(x).view(b, t, self.num_heads, self.head_dim)
        k_new = self.W_key(x).view(b, t, self.num_heads, self.head_dim)
        v_new = self.W_value(x).view(b, t, self.num_heads, self.head_dim)
        if use_cache:
            if self.cache_k is None:
                self.cache_k, self.cache_v = k_new, v_new
            else:  # append the new tokens along the token dimension
                self.cache_k = torch.cat([self.cache_k, k_new], dim=1)
                self.cache_v = torch.cat([self.cache_v, v_new], dim=1)
            k, v = self.cache_k, self.cache_v
        else:
            k, v = k_new, v_new
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)   # (b, heads, tokens, head_dim)
        scores = q @ k.transpose(2, 3)
        n_k = k.shape[2]
        if use_cache:  # the new queries sit at rows ptr..ptr+t of the causal mask
            mask = self.mask.bool()[self.ptr_current_pos:self.ptr_current_pos + t, :n_k]
            self.ptr_current_pos += t
        else:
            mask = self.mask.bool()[:t, :n_k]
        scores.masked_fill_(mask, -torch.inf)
        w = self.dropout(torch.softmax(scores / k.shape[-1] ** 0.5, dim=-1))
        ctx = (w @ v).transpose(1, 2).contiguous().view(b, t, self.d_out)
        return self.out_proj(ctx)

    def reset_cache(self):
        self.cache_k, self.cache_v = None, None
        self.ptr_current_pos = 0


class LayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class GELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(torch.sqrt(torch.tensor(2.0 / torch.pi)) * (x + 0.044715 * torch.pow(x, 3))))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]), GELU(),
                                    nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]))

    def forward(self, x):
        return self.layers(x)


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.att = MultiHeadAttention(cfg["emb_dim"], cfg["emb_dim"], cfg["context_length"], cfg["drop_rate"],
                                      cfg["n_heads"], cfg["qkv_bias"])
        self.ff = FeedForward(cfg)
        self.norm1, self.norm2 = LayerNorm(cfg["emb_dim"]), LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x, use_cache=False):
        x = x + self.drop_shortcut(self.att(self.norm1(x), use_cache=use_cache))
        return x + self.drop_shortcut(self.ff(self.norm2(x)))


class GPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)
        self.current_pos = 0

    def forward(self, idx, use_cache=False):
        _, t = idx.shape
        if use_cache:  # positions continue after the cached tokens
            pos = torch.arange(self.current_pos, self.current_pos + t, device=idx.device)
            self.current_pos += t
        else:
            pos = torch.arange(t, device=idx.device)
        x = self.drop_emb(self.tok_emb(idx) + self.pos_emb(pos))
        for block in self.trf_blocks:
            x = block(x, use_cache=use_cache)
        return self.out_head(self.final_norm(x))

    def reset_kv_cache(self):
        for block in self.trf_blocks:
            block.att.reset_cache()
        self.current_pos = 0


def generate_text_simple_cached(model, idx, max_new_tokens, context_size):
    """Greedy decoding through the KV cache: prefill with the prompt, then one token per step."""
    model.reset_kv_cache()
    logits = model(idx[:, -context_size:], use_cache=True)
    for i in range(max_new_tokens):
        next_idx = logits[:, -1].argmax(dim=-1, keepdim=True)
        idx = torch.cat([idx, next_idx], dim=1)
        if i + 1 < max_new_tokens:  # (the book also runs the forward after the last token)
            logits = model(next_idx, use_cache=True)
    return idx


def best(f, reps):
    f()
    b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter(); f(); b = min(b, time.perf_counter() - t0)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bf16", action="store_true", help="also time generation with bfloat16 parameters (slow)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps = 2 if args.quick else 5
    cfg = {"vocab_size": 50257, "context_length": 256, "emb_dim": 768, "n_heads": 12, "n_layers": 12,
           "drop_rate": 0.1, "qkv_bias": False}
    torch.manual_seed(123)
    out = {}
    out["construct_s"] = best(lambda: GPTModel(cfg), 1)
    model = GPTModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)
    x = torch.randint(0, 50257, (2, 256)); y = torch.randint(0, 50257, (2, 256))

    def step():
        model.train(); opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward(); opt.step()
    out["train_step_s"] = best(step, reps)

    def fwd():
        model.eval()
        with torch.no_grad():
            model(x)
    out["eval_forward_s"] = best(fwd, reps)

    uncached = {}

    def gen():
        model.eval()
        idx = torch.tensor([[6109, 3626, 6100, 345]])
        with torch.no_grad():
            for _ in range(50 if args.quick else 200):
                logits = model(idx[:, -256:])[:, -1, :]
                idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
        uncached["ids"] = idx
    n = 50 if args.quick else 200
    out["generate_tokens_per_s"] = n / best(gen, 1)

    prompt = torch.tensor([[6109, 3626, 6100, 345]])

    def gen_cached():
        model.eval()
        with torch.no_grad():
            return generate_text_simple_cached(model, prompt, n, 256)
    out["generate_cached_tokens_per_s"] = n / best(gen_cached, 1)
    # The cache changes the speed, not the tokens.
    out["cached_equals_uncached"] = float(torch.equal(gen_cached(), uncached["ids"]))
    if args.bf16:
        # Opt-in: on the 2-core dev machine under load this did not finish in 15 minutes.
        model.to(torch.bfloat16)   # bf16 parameters and buffers, as Ember's castForInference(to: .bfloat16)
        out["generate_cached_bf16_tokens_per_s"] = n / best(gen_cached, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
