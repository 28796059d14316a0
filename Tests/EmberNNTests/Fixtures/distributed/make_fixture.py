"""Writes the fixtures of Ember's data-parallel tests with real PyTorch (CPU, gloo backend).

    python make_fixture.py      # needs torch; writes distributed_sampler.json here and ddp_script.json
                                # into Tests/EmberLLMTests/Fixtures/distributed/

1. distributed_sampler.json: `list(iter(DistributedSampler(range(n), num_replicas, rank, shuffle, seed,
   drop_last)))` after `set_epoch(epoch)`, for several argument combinations, and `len(sampler)`.
2. ddp_script.json: the lines that appendix A's DDP-script.py prints per rank
   (rasbt/LLMs-from-scratch, appendix-A/01_main-chapter-code/DDP-script.py), run as the book runs it
   but on the CPU: backend "gloo" instead of "nccl", no `.to(rank)`, world size 2, started with
   torch.multiprocessing's spawn. The book seeds only the parent, so its spawned children start from
   nondeterministic seeds and its numbers vary between runs; here each rank calls `torch.manual_seed(123)`
   first, which makes the run reproducible (DDP broadcasts rank 0's weights either way).
"""
import json
import os
import sys

import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch.distributed import destroy_process_group, init_process_group
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))


class Fake(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def sampler_cases():
    cases = []
    for n in (5, 10, 11, 17):
        for replicas in (1, 2, 3, 4):
            for shuffle in (False, True):
                for drop_last in (False, True):
                    for seed, epoch in ((0, 0), (0, 1), (123, 2)):
                        if not shuffle and (seed, epoch) != (0, 0):
                            continue
                        if replicas > n:
                            continue
                        for rank in range(replicas):
                            s = DistributedSampler(Fake(n), num_replicas=replicas, rank=rank, shuffle=shuffle,
                                                   seed=seed, drop_last=drop_last)
                            s.set_epoch(epoch)
                            cases.append(dict(n=n, num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                                              drop_last=drop_last, epoch=epoch, len=len(s), indices=list(iter(s))))
    return cases


class ToyDataset(Dataset):
    def __init__(self, X, y):
        self.features = X
        self.labels = y

    def __getitem__(self, index):
        return self.features[index], self.labels[index]

    def __len__(self):
        return self.labels.shape[0]


class NeuralNetwork(torch.nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(num_inputs, 30), torch.nn.ReLU(),
            torch.nn.Linear(30, 20), torch.nn.ReLU(),
            torch.nn.Linear(20, num_outputs))

    def forward(self, x):
        return self.layers(x)


def compute_accuracy(model, dataloader):
    model = model.eval()
    correct = 0.0
    total_examples = 0
    for features, labels in dataloader:
        with torch.no_grad():
            logits = model(features)
        predictions = torch.argmax(logits, dim=1)
        compare = labels == predictions
        correct += torch.sum(compare)
        total_examples += len(compare)
    return (correct / total_examples).item()


def main(rank, world_size, num_epochs, out_dir):
    # The book's script seeds only the parent (`torch.manual_seed(123)` before `mp.spawn`); spawned
    # children start from a nondeterministic seed, so its numbers change from run to run. Seeding each
    # rank as the parent is seeded makes them reproducible (DDP still broadcasts rank 0's weights).
    torch.manual_seed(123)
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    init_process_group(backend="gloo", rank=rank, world_size=world_size)
    X_train = torch.tensor([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]])
    y_train = torch.tensor([0, 0, 0, 1, 1])
    X_test = torch.tensor([[-0.8, 2.8], [2.6, -1.6]])
    y_test = torch.tensor([0, 1])
    train_ds, test_ds = ToyDataset(X_train, y_train), ToyDataset(X_test, y_test)
    train_loader = DataLoader(train_ds, batch_size=2, shuffle=False, drop_last=True, sampler=DistributedSampler(train_ds))
    test_loader = DataLoader(test_ds, batch_size=2, shuffle=False)
    model = NeuralNetwork(num_inputs=2, num_outputs=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model = DDP(model)
    lines, losses = [], []
    for epoch in range(num_epochs):
        train_loader.sampler.set_epoch(epoch)
        model.train()
        for features, labels in train_loader:
            logits = model(features)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            lines.append(f"[GPU{rank}] Epoch: {epoch+1:03d}/{num_epochs:03d} | Batchsize {labels.shape[0]:03d} | Train/Val Loss: {loss:.2f}")
    model.eval()
    train_acc = compute_accuracy(model, train_loader)
    lines.append(f"[GPU{rank}] Training accuracy {train_acc}")
    test_acc = compute_accuracy(model, test_loader)
    lines.append(f"[GPU{rank}] Test accuracy {test_acc}")
    params = {k: v.flatten().tolist() for k, v in model.module.state_dict().items()}
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(dict(lines=lines, losses=losses, train_acc=train_acc, test_acc=test_acc, params=params), f)
    destroy_process_group()


if __name__ == "__main__":
    torch.set_num_threads(1)
    with open(os.path.join(HERE, "distributed_sampler.json"), "w") as f:
        json.dump(dict(torch_version=torch.__version__, cases=sampler_cases()), f, separators=(",", ":"))
    import tempfile
    tmp = tempfile.mkdtemp()
    torch.manual_seed(123)
    mp.spawn(main, args=(2, 3, tmp), nprocs=2)
    ranks = [json.load(open(os.path.join(tmp, f"rank{r}.json"))) for r in range(2)]
    llm = os.path.join(HERE, "..", "..", "..", "EmberLLMTests", "Fixtures", "distributed")
    with open(os.path.join(llm, "ddp_script.json"), "w") as f:
        json.dump(dict(torch_version=torch.__version__, world_size=2, num_epochs=3, ranks=ranks), f, indent=1)
