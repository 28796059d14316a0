#!/usr/bin/env python3
"""Load check for `ember serve` (a benchmark, not a test): N concurrent streaming clients, greedy.

Each client streams one completion (temperature 0) from a running server and the script reports
requests/s and generated tokens/s for each client count, then checks that every streamed text equals
the same request served alone (sequentially, one at a time) -- continuous batching must not change
greedy output -- and prints the batching speed-up (N-client throughput over one-at-a-time).

    swift run -c release ember serve --model gpt2 --max-batch 32 &
    python3 Scripts/serve-load.py --model gpt2 --clients 1 8 32 --max-tokens 32

Standard library only (urllib, threads).
"""
import argparse, json, threading, time, urllib.request


def stream(base, model, prompt, max_tokens):
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                       "stream": True, "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request(base + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    text, tokens, done = [], 0, False
    with urllib.request.urlopen(req, timeout=600) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                done = True
                break
            chunk = json.loads(data)
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            for choice in chunk.get("choices", []):
                text.append(choice.get("text", ""))
    if not done:
        raise RuntimeError("stream ended without [DONE]")
    return "".join(text), tokens


def run(base, model, prompts, max_tokens):
    results = [None] * len(prompts)
    def client(i):
        results[i] = stream(base, model, prompts[i], max_tokens)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(prompts))]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    return results, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8080")
    ap.add_argument("--model", required=True)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--max-tokens", type=int, default=32)
    args = ap.parse_args()
    n_max = max(args.clients)
    prompts = [f"Request {i}: every effort moves you" for i in range(n_max)]
    alone = []
    start = time.perf_counter()
    for p in prompts:
        alone.append(stream(args.base, args.model, p, args.max_tokens))
    sequential = time.perf_counter() - start
    seq_tokens = sum(t for _, t in alone)
    print(f"one at a time: {n_max} requests in {sequential:.2f} s: {n_max / sequential:.2f} req/s, {seq_tokens / sequential:.1f} tok/s")
    for n in args.clients:
        results, elapsed = run(args.base, args.model, prompts[:n], args.max_tokens)
        tokens = sum(t for _, t in results)
        same = sum(r[0] == a[0] for r, a in zip(results, alone))
        print(f"{n:3d} clients: {n / elapsed:.2f} req/s, {tokens / elapsed:.1f} tok/s, "
              f"speed-up over one at a time {(tokens / elapsed) / (seq_tokens / sequential):.2f}x, identical {same}/{n}")


if __name__ == "__main__":
    main()
