"""Generates the PyTorch reference numbers for Ember's optimizer / loss / schedule tests.

Run with torch 2.13.0+cpu (the wheel in /opt/wheels): `python generate.py` writes the JSON files next
to this script. Every float is a float32 value written with Python's repr (exact).
"""
import json, math, os
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)


def L(t):
    return t.detach().reshape(-1).tolist()


def optimizer_runs():
    runs = []
    configs = [
        ("AdamW", dict(lr=4e-4, weight_decay=0.1)),
        ("AdamW", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True)),
        ("Adam", dict(lr=1e-3)),
        ("Adam", dict(lr=5e-3, weight_decay=0.05, maximize=True)),
        ("Adam", dict(lr=1e-2, betas=(0.3, 0.9))),  # beta1 < 0.5: lerp's large-weight branch
        ("SGD", dict(lr=0.1)),
        ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.25, maximize=True)),
    ]
    sizes = [7, 37, 67]  # below one SIMD vector, and vector bodies with scalar tails
    for name, kw in configs:
        params0 = [torch.randn(n) for n in sizes]
        params = [p.clone().requires_grad_(True) for p in params0]
        opt = getattr(torch.optim, name)(params, foreach=False, **kw)
        steps = []
        for s in range(3):
            grads = [torch.randn(n) for n in sizes]
            if s == 1:
                grads[1] = None  # a parameter without grad is skipped
            for p, g in zip(params, grads):
                p.grad = None if g is None else g.clone()
            opt.step()
            st = []
            for p in params:
                d = opt.state.get(p, {})
                st.append({k: L(v) for k, v in d.items()})
            steps.append({"grads": [None if g is None else L(g) for g in grads],
                          "params": [L(p) for p in params], "state": st})
        runs.append({"optimizer": name, "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()},
                     "initial": [L(p) for p in params0], "steps": steps})
    return runs


def clip_cases():
    cases = []
    for norm_type, max_norm in [(2.0, 1.0), (2.0, 100.0), (float("inf"), 0.5), (1.0, 2.0), (3.0, 0.7)]:
        grads = [torch.randn(5) * 2, torch.randn(3, 4), torch.randn(11) * 0.1]
        params = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        cases.append({"norm_type": "inf" if math.isinf(norm_type) else norm_type, "max_norm": max_norm,
                      "grads": [L(g) for g in grads], "total_norm": total.item(),
                      "clipped": [L(p.grad) for p in params]})
    return cases


def schedules():
    def run(make, n=25):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        lrs = [sched.get_last_lr()[0]]
        for _ in range(n):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        return lrs
    out = {
        "LambdaLR_0.95pow": run(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e)),
        "StepLR_3_0.5": run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
        "CosineAnnealingLR_10_1e-5": run(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-5)),
    }
    # Book appendix D (D.1-D.2): n_epochs 15, 9 batches per epoch, 20% warm-up, initial 1e-4,
    # peak 0.01, min_lr = 0.1 * initial_lr; the lr of every global step, as the notebook computes it.
    initial_lr, peak_lr, total = 0.0001, 0.01, 9 * 15
    warmup = int(0.2 * total)
    min_lr = 0.1 * initial_lr
    inc = (peak_lr - initial_lr) / warmup
    lrs = []
    for step in range(total):
        if step < warmup:
            lr = initial_lr + step * inc
        else:
            progress = (step - warmup) / (total - warmup)
            lr = min_lr + (peak_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
        lrs.append(lr)
    out["appendixD"] = {"initial_lr": initial_lr, "peak_lr": peak_lr, "min_lr": min_lr,
                        "warmup_steps": warmup, "total_steps": total, "lrs": lrs}
    return out


def losses():
    out = {}
    x = torch.randn(4, 7, requires_grad=True)
    t = torch.tensor([3, -100, 0, 6])
    for red in ["mean", "sum", "none"]:
        x.grad = None
        y = F.cross_entropy(x, t, reduction=red)
        y.backward(torch.ones_like(y) if red == "none" else None)
        out[f"ce_{red}"] = {"logits": L(x), "shape": list(x.shape), "targets": t.tolist(),
                            "loss": L(y), "grad": L(x.grad)}
    x3 = torch.randn(2, 5, 3, requires_grad=True)
    t3 = torch.tensor([[0, 4, 2], [1, 1, -100]])
    y = F.cross_entropy(x3, t3)
    y.backward()
    out["ce_spatial"] = {"logits": L(x3), "shape": list(x3.shape), "targets": L(t3), "target_shape": list(t3.shape),
                         "loss": L(y), "grad": L(x3.grad), "grad_fn": type(y.grad_fn).__name__}
    xp = torch.randn(3, 4, requires_grad=True)
    tp = torch.softmax(torch.randn(3, 4), 1)
    y = F.cross_entropy(xp, tp)
    y.backward()
    out["ce_prob"] = {"logits": L(xp), "shape": [3, 4], "targets": L(tp), "loss": L(y), "grad": L(xp.grad),
                      "grad_fn": type(y.grad_fn).__name__}
    lp = torch.log_softmax(torch.randn(3, 5), 1).requires_grad_(True)
    tn = torch.tensor([4, 0, 2])
    y = F.nll_loss(lp, tn)
    y.backward()
    out["nll"] = {"input": L(lp), "shape": [3, 5], "targets": tn.tolist(), "loss": L(y), "grad": L(lp.grad)}
    pr = torch.sigmoid(torch.randn(6)).requires_grad_(True)
    tb = torch.tensor([1., 0., 1., 1., 0., 0.5])
    y = F.binary_cross_entropy(pr, tb)
    y.backward()
    out["bce"] = {"input": L(pr), "targets": L(tb), "loss": L(y), "grad": L(pr.grad)}
    lg = (torch.randn(6) * 4).requires_grad_(True)
    y = F.binary_cross_entropy_with_logits(lg, tb, reduction="sum")
    y.backward()
    out["bce_logits_sum"] = {"input": L(lg), "targets": L(tb), "loss": L(y), "grad": L(lg.grad)}
    a = torch.randn(3, 4, requires_grad=True)
    b = torch.randn(4, requires_grad=True)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = F.mse_loss(a, b)
    y.backward()
    out["mse_broadcast"] = {"input": L(a), "shape": [3, 4], "target": L(b), "target_shape": [4], "loss": L(y),
                            "grad_input": L(a.grad), "grad_target": L(b.grad)}
    return out


def state_dict_structure():
    # An AdamW state dict with one group overriding weight_decay (key order shows it) and a
    # scheduler-added initial_lr: the keys and Python types PyTorch writes.
    w = torch.ones(2, 3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    opt = torch.optim.AdamW([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], lr=0.1)
    w.grad = torch.ones(2, 3)
    opt.step()
    sd = opt.state_dict()

    def typed(v):
        if isinstance(v, torch.Tensor):
            return {"tensor": {"dtype": str(v.dtype), "shape": list(v.shape), "values": L(v)}}
        if isinstance(v, bool):
            return {"bool": v}
        if isinstance(v, int):
            return {"int": v}
        if isinstance(v, float):
            return {"float": v}
        if v is None:
            return {"none": None}
        if isinstance(v, tuple):
            return {"tuple": [typed(x) for x in v]}
        if isinstance(v, list):
            return {"list": [typed(x) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[k, typed(x)] for k, x in v.items()]}
        raise TypeError(v)
    return typed(sd)


json.dump({"torch": torch.__version__, "runs": optimizer_runs()}, open(os.path.join(HERE, "optimizers.json"), "w"))
json.dump({"torch": torch.__version__, "cases": clip_cases()}, open(os.path.join(HERE, "clip_grad.json"), "w"))
json.dump({"torch": torch.__version__, **schedules()}, open(os.path.join(HERE, "schedules.json"), "w"))
json.dump({"torch": torch.__version__, **losses()}, open(os.path.join(HERE, "losses.json"), "w"))
json.dump({"torch": torch.__version__, "state_dict": state_dict_structure()}, open(os.path.join(HERE, "adamw_state_dict.json"), "w"))
