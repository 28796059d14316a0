"""PyTorch side of `ember-bench instruct`: seconds per training step of the book's chapter-7
instruction finetuning (gpt_instruction_finetuning.py: the book's GPTModel with the gpt2-medium
config, AdamW lr 5e-5 / weight decay 0.1, calc_loss_batch = cross-entropy with ignore_index -100)
on exactly the batches Ember's loader made (token ids read from a JSON file), same thread count.

Usage: python instruct_bench.py BATCHES.json --threads N
Prints one JSON object: {"step_seconds": [...], "losses": [...]}.
"""
import argparse, json, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_bench import GPTModel  # the book's chapter-4 GPTModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("batches")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.batches) as f:
        spec = json.load(f)
    torch.manual_seed(123)
    model = GPTModel(spec["config"])
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.00005, weight_decay=0.1)
    times, losses = [], []
    for b in spec["batches"]:
        x = torch.tensor(b["inputs"]).view(b["shape"])
        y = torch.tensor(b["targets"]).view(b["shape"])
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    print(json.dumps({"step_seconds": times, "losses": losses}))


if __name__ == "__main__":
    main()
