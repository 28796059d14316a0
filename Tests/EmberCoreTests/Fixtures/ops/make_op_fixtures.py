"""Writes op_fixtures.json: inputs, results and error messages of PyTorch tensor ops.

Run with PyTorch 2.13 CPU (no numpy needed):
    python make_op_fixtures.py > op_fixtures.json

Layout: {"torch": version, "sections": {section: {case_id: case}}}. A case holds named input
tensors ("in"), plain arguments ("args") and results ("out": a tensor, a list of tensors, a
dtype name, a string, ...). A tensor is {"dtype", "shape", "v"} with row-major values: floats as
Python repr strings of the exact binary64 value ("nan", "inf", "-inf" included), integers as
numbers, bools as true/false. A view case adds "strides", "offset" and "shares" (same storage
as its base). An error is {"error": str(exception)}. The Swift tests (EmberCoreTests/*Tests.swift)
build the same inputs from the JSON and map each case id to the equivalent Ember call.
"""
import json
import torch
import torch.nn.functional as F

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def dt(name):
    return getattr(torch, name)


def enc(x):
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x
    return repr(float(x))


def T(t, view_of=None):
    t = t.detach()
    flat = t.reshape(-1).tolist() if t.dim() else [t.item()]
    if t.dtype.is_floating_point:
        vals = [enc(float(v)) for v in flat]
    elif t.dtype == torch.bool:
        vals = [bool(v) for v in flat]
    else:
        vals = [int(v) for v in flat]
    d = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "v": vals}
    if view_of is not None:
        d["strides"] = list(t.stride())
        d["offset"] = t.storage_offset()
        d["shares"] = t.untyped_storage().data_ptr() == view_of.untyped_storage().data_ptr()
    return d


def err(fn):
    try:
        fn()
    except Exception as e:  # the message is what Ember must reproduce
        return {"error": str(e), "kind": type(e).__name__}
    return {"error": None}


def seeded(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * scale)


S = {}

# ---------------------------------------------------------------- dtypes / promotion
sec = S["dtypes"] = {}
small = {n: (torch.tensor([True, False, True]) if n == "bool" else torch.tensor([1, 2, 3]).to(dt(n))) for n in DTYPES}
for a in DTYPES:
    for b in DTYPES:
        A, B = small[a], small[b]
        case = {"a": a, "b": b,
                "add": T(A + B), "mul": T(A * B), "div": T(A / B),
                "lt": T(A < B), "eq": T(A == B),
                "add0d": T(A + torch.tensor(2 if b != "bool" else True, dtype=dt(b))),
                "sub": err(lambda: A - B)}
        if case["sub"]["error"] is None:
            case["sub"] = T(A - B)
        sec[f"{a}_{b}"] = case
scal = S["dtypes_scalar"] = {}
for a in DTYPES:
    A = small[a]
    scal[a] = {"a": a, "int": T(A + 2), "double": T(A + 2.5), "bool": T(A + True),
               "mul_double": T(A * 0.5), "div_int": T(A / 2), "rsub_int": err(lambda: 10 - A)}
    if scal[a]["rsub_int"]["error"] is None:
        scal[a]["rsub_int"] = T(10 - A)
    scal[a]["gt_double"] = T(A > 1.5)
    scal[a]["eq_int"] = T(A == 1)

conv = S["conversions"] = {}
src = torch.tensor([-2.7, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 3.99, 100.7, -100.2, 65504.0, 70000.0,
                    1e-8, 0.1, 1.0 / 3.0, 257.3])
for n in DTYPES:
    conv[n] = {"in": {"x": T(src)}, "out": T(src.to(dt(n)))}
conv["int_to_float16"] = {"in": {"x": T(torch.tensor([0, 1, 2049, 4097, 65519, 65520, -3]))},
                          "out": T(torch.tensor([0, 1, 2049, 4097, 65519, 65520, -3]).half())}
conv["bf16_round_even"] = {"in": {"x": T(torch.tensor([1.00390625, 1.01171875, 3.14159265, -2.71828, 1e30]))},
                           "out": T(torch.tensor([1.00390625, 1.01171875, 3.14159265, -2.71828, 1e30]).bfloat16())}
conv["nan_inf_to_bool"] = {"in": {"x": T(torch.tensor([float("nan"), float("inf"), 0.0, -0.0]))},
                           "out": T(torch.tensor([float("nan"), float("inf"), 0.0, -0.0]).bool())}
conv["item"] = {"in": {"x": T(torch.tensor([[2.5]]))}, "out": torch.tensor([[2.5]]).item()}
conv["item_many"] = err(lambda: torch.tensor([1.0, 2.0]).item())

# ---------------------------------------------------------------- creation
cr = S["creation"] = {}
cr["nested_float"] = {"out": T(torch.tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66]]))}
cr["nested_int"] = {"out": T(torch.tensor([[1, 2], [3, 4], [5, 6]]))}
cr["nested_bool"] = {"out": T(torch.tensor([[True, False]]))}
cr["scalar_float"] = {"out": T(torch.tensor(3.5))}
cr["scalar_int"] = {"out": T(torch.tensor(7))}
cr["scalar_bool"] = {"out": T(torch.tensor(True))}
cr["empty_list"] = {"out": T(torch.tensor([]))}
cr["zeros"] = {"out": T(torch.zeros(2, 3))}
cr["ones_int32"] = {"out": T(torch.ones(2, 2, dtype=torch.int32))}
cr["full"] = {"out": T(torch.full((2, 2), 0.1))}
cr["full_int"] = {"out": T(torch.full((3,), 7, dtype=torch.int64))}
cr["empty_shape"] = {"out": list(torch.empty(2, 0, 3).shape)}
cr["arange_int"] = {"out": T(torch.arange(5))}
cr["arange_int_step"] = {"out": T(torch.arange(2, 11, 3))}
cr["arange_int_neg"] = {"out": T(torch.arange(5, -4, -2))}
cr["arange_float"] = {"out": T(torch.arange(0.0, 1.0, 0.1))}
cr["arange_float2"] = {"out": T(torch.arange(-1.5, 2.0, 0.25))}
for (a, b, n) in [(0.0, 1.0, 11), (-3.0, 7.0, 9), (0.1, 0.9, 6), (0.0, 1.0, 100), (-1.0, 1.0, 2), (5.0, 5.0, 1), (2.0, -3.3, 17)]:
    cr[f"linspace_{a}_{b}_{n}"] = {"args": {"start": a, "end": b, "steps": n}, "out": T(torch.linspace(a, b, n))}
cr["linspace_f64"] = {"args": {"start": 0.0, "end": 1.0, "steps": 7}, "out": T(torch.linspace(0, 1, 7, dtype=torch.float64))}
cr["eye3"] = {"out": T(torch.eye(3))}
cr["eye2x4"] = {"out": T(torch.eye(2, 4))}
base = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], dtype=torch.int32)
cr["zeros_like"] = {"in": {"x": T(base)}, "out": T(torch.zeros_like(base))}
cr["ones_like_f"] = {"in": {"x": T(base)}, "out": T(torch.ones_like(base, dtype=torch.float32))}
cr["full_like"] = {"in": {"x": T(base)}, "out": T(torch.full_like(base, 9))}
for d in [-1, 0, 1, 2]:
    cr[f"tril_{d}"] = {"in": {"x": T(base)}, "args": {"diagonal": d}, "out": T(base.tril(diagonal=d))}
    cr[f"triu_{d}"] = {"in": {"x": T(base)}, "args": {"diagonal": d}, "out": T(base.triu(diagonal=d))}
cr["causal_mask"] = {"out": T(torch.triu(torch.ones(4, 4), diagonal=1).bool())}
a = seeded((2, 3), 1)
b = seeded((2, 3), 2)
for d in [0, 1, 2, -1]:
    cr[f"stack_{d}"] = {"in": {"a": T(a), "b": T(b)}, "args": {"dim": d}, "out": T(torch.stack([a, b], dim=d))}
cr["cat_0"] = {"in": {"a": T(a), "b": T(b[:1])}, "out": T(torch.cat([a, b[:1]], 0))}
cr["cat_1"] = {"in": {"a": T(a), "b": T(b[:, :2])}, "out": T(torch.cat([a, b[:, :2]], 1))}
cr["cat_mixed"] = {"in": {"a": T(a), "b": T(torch.tensor([[1, 2, 3]]))}, "out": T(torch.cat([a, torch.tensor([[1, 2, 3]])]))}
cr["cat_err"] = err(lambda: torch.cat([a, b[:, :2]], 0))
cr["stack_err"] = err(lambda: torch.stack([a, b[:, :2]]))

# ---------------------------------------------------------------- views
vw = S["views"] = {}
x = torch.arange(24).reshape(2, 3, 4)
vw["_base"] = {"out": T(x)}


def V(name, fn, src=x):
    try:
        r = fn(src)
    except Exception as e:
        vw[name] = {"error": str(e)}
        return
    if isinstance(r, (list, tuple)):
        vw[name] = {"out": [T(t, view_of=src) for t in r]}
    else:
        vw[name] = {"out": T(r, view_of=src), "contiguous": r.is_contiguous()}


V("view_6_4", lambda t: t.view(6, 4))
V("view_m1", lambda t: t.view(-1))
V("reshape_4_m1", lambda t: t.reshape(4, -1))
V("transpose_reshape", lambda t: t.transpose(0, 1).reshape(6, 4))
V("transpose_view_err", lambda t: t.transpose(0, 1).view(6, 4))
V("view_bad_err", lambda t: t.view(5, 5))
V("transpose_0_2", lambda t: t.transpose(0, 2))
V("permute_2_0_1", lambda t: t.permute(2, 0, 1))
V("mT", lambda t: t.mT)
V("T2d", lambda t: t[0].T)
V("slice_neg", lambda t: t[-1:])            # t[(-1)...]
V("slice_last2_dim2", lambda t: t[:, :, -2:])
V("slice_step", lambda t: t[:, :, 0:4:2])   # stride(from: 0, to: 4, by: 2)
V("slice_step3", lambda t: t[:, 1:3, 1::2])
V("slice_closed", lambda t: t[0, 0:2])      # 0...1
V("slice_upto_neg", lambda t: t[:, :-1])    # ..<(-1)
V("ellipsis_0", lambda t: t[..., 0])
V("ellipsis_mid", lambda t: t[0, ..., 1])
V("newaxis", lambda t: t[None])
V("newaxis_mid", lambda t: t[:, None, 1])
V("int_index", lambda t: t[1, -1])
V("select_1_m1", lambda t: t.select(1, -1))
V("narrow", lambda t: t.narrow(2, 1, 2))
V("narrow_neg", lambda t: t.narrow(1, -2, 2))
V("unsqueeze_m1", lambda t: t.unsqueeze(-1))
V("unsqueeze_1", lambda t: t.unsqueeze(1))
V("squeeze_all", lambda t: t[:, :1, None, :1].squeeze())
V("squeeze_dim", lambda t: t[:, :1].squeeze(1))
V("squeeze_noop", lambda t: t.squeeze(0))
V("flatten", lambda t: t.flatten())
V("flatten_1_2", lambda t: t.flatten(1, 2))
V("flatten_0_1", lambda t: t.flatten(0, 1))
V("flatten_transposed", lambda t: t.transpose(1, 2).flatten(1))
V("expand", lambda t: t[:, :1, :].expand(2, 5, 4))
V("expand_m1", lambda t: t[0, :, :1].expand(-1, 3))
V("expand_new", lambda t: t[0, 0].expand(2, 4))
V("contiguous_of_transpose", lambda t: t.transpose(1, 2).contiguous())
V("contiguous_noop", lambda t: t.contiguous())
V("split_2_dim2", lambda t: t.split(3, dim=2))
V("split_sizes", lambda t: t.split([1, 2], dim=1))
V("chunk_3_dim2", lambda t: t.chunk(3, dim=2))
V("chunk_2_dim1", lambda t: t.chunk(2, dim=1))
V("unbind_1", lambda t: t.unbind(1))
vw["is_contiguous"] = {"plain": x.is_contiguous(), "transposed": x.transpose(0, 1).is_contiguous(),
                       "sliced_last": x[:, :, ::2].is_contiguous(), "sliced_first": x[1:].is_contiguous(),
                       "expanded": x[:, :1].expand(2, 3, 4).is_contiguous(), "size1_transpose": x[:1].transpose(0, 1).is_contiguous()}
y = torch.zeros(3, 4)
y[1:, ::2].fill_(5.0)
y.t()[0].add_(1.0)
y[:, -1] = torch.tensor([7.0, 8.0, 9.0])
y.view(-1)[5] = -2.0
vw["inplace_through_views"] = {"out": T(y)}
vw["select_err"] = err(lambda: x.select(1, 3))
vw["dim_err"] = err(lambda: x.transpose(0, 3))
vw["expand_err"] = err(lambda: x.expand(2, 5, 4))

# ---------------------------------------------------------------- elementwise
ew = S["elementwise"] = {}
xa = seeded((2, 3), 10)
yb = seeded((3,), 11)
pos = xa.abs() + 0.25
spec = torch.tensor([float("-inf"), -30.0, -3.5, -1.0, -0.5, -0.0, 0.0, 1e-3, 0.5, 1.0, 2.5, 10.0, 30.0, float("inf"), float("nan")])
ins = {"x": T(xa), "y": T(yb), "p": T(pos), "s": T(spec)}
ew["_inputs"] = {"in": ins}
bin_ops = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "maximum": torch.maximum, "minimum": torch.minimum,
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
}
for n, f in bin_ops.items():
    ew[f"{n}_x_y"] = {"out": T(f(xa, yb))}
ew["pow_p_y"] = {"out": T(torch.pow(pos, yb))}
ew["pow_x_2"] = {"out": T(xa.pow(2))}
ew["pow_p_0.5"] = {"out": T(pos.pow(0.5))}
ew["pow_p_3"] = {"out": T(pos.pow(3))}
ew["pow_p_m1.5"] = {"out": T(pos.pow(-1.5))}
ew["add_scalar"] = {"out": T(xa + 1.5)}
ew["rsub_scalar"] = {"out": T(2 - xa)}
ew["rdiv_scalar"] = {"out": T(1.0 / pos)}
ew["mul_int_scalar"] = {"out": T(xa * 3)}
un = {
    "neg": torch.neg, "abs": torch.abs, "exp": torch.exp, "log": torch.log, "log1p": torch.log1p,
    "sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "relu": torch.relu, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "sin": torch.sin, "cos": torch.cos,
}
for n, f in un.items():
    ew[f"{n}_x"] = {"out": T(f(xa))}
    ew[f"{n}_s"] = {"out": T(f(spec))}
ew["exp_int"] = {"out": T(torch.exp(torch.tensor([0, 1, 2])))}
ew["abs_int"] = {"out": T(torch.abs(torch.tensor([-3, 0, 4], dtype=torch.int32)))}
ew["clamp_both"] = {"out": T(xa.clamp(min=-0.5, max=0.5))}
ew["clamp_min"] = {"out": T(spec.clamp(min=0.0))}
ew["clamp_max"] = {"out": T(spec.clamp(max=1.0))}
ew["clamp_int"] = {"out": T(torch.arange(-3, 4).clamp(min=-1, max=2))}
bm1 = torch.tensor([[True, False, True], [False, False, True]])
bm2 = torch.tensor([True, True, False])
ew["_bools"] = {"in": {"m1": T(bm1), "m2": T(bm2)}}
ew["and"] = {"out": T(bm1 & bm2)}
ew["or"] = {"out": T(bm1 | bm2)}
ew["xor"] = {"out": T(bm1 ^ bm2)}
ew["not"] = {"out": T(~bm1)}
ew["logical_and_float"] = {"out": T(torch.logical_and(xa, yb))}
ew["bitwise_and_int"] = {"out": T(torch.tensor([12, 10, 7]) & torch.tensor([10, 6, 1]))}
ew["where"] = {"out": T(torch.where(xa > 0, xa, yb))}
ew["where_scalar"] = {"out": T(torch.where(xa > 0, xa, 0.0))}
ew["masked_fill"] = {"out": T(xa.masked_fill(bm2, float("-inf")))}
mf = xa.clone()
mf.masked_fill_(bm1, 0.0)
ew["masked_fill_"] = {"out": T(mf)}
ew["masked_fill_err"] = err(lambda: xa.masked_fill(torch.tensor([True, False]), 0.0))
ew["bool_mask_get"] = {"out": T(xa[xa > 0])}
ew["bool_mask_get_2d_row"] = {"out": T(xa[torch.tensor([False, True])])}
tm = torch.tensor([[1, 0, 1], [2, 1, 3]])
tm[tm == 1] = 2
ew["bool_mask_set"] = {"out": T(tm)}
fm = xa.clone()
fm[fm < 0] = 0.5
ew["bool_mask_set_float"] = {"out": T(fm)}
probas = torch.softmax(seeded((2, 3, 5), 12), dim=-1)
targets = torch.tensor([[3, 1, 4], [0, 2, 2]])
ew["_probas"] = {"in": {"probas": T(probas), "targets": T(targets)}}
for ti in [0, 1]:
    ew[f"probas_text_{ti}"] = {"out": T(probas[ti, [0, 1, 2], targets[ti]])}
ew["probas_arange"] = {"out": T(probas[torch.arange(2)[:, None], torch.arange(3), targets])}
ew["probas_broadcast_err"] = err(lambda: probas[[0, 1], [0, 1, 2], targets])
ew["adv_after_slice"] = {"out": T(probas[:, [2, 0]])}
ew["adv_separated"] = {"out": T(probas[[0, 1], :, [4, 0]])}
ew["adv_set"] = {}
ps = probas.clone()
ps[[0, 1], [2, 0]] = -1.0
ew["adv_set"] = {"out": T(ps)}
gi = torch.tensor([[0, 0, 2], [1, 0, 1]])
ew["gather_1"] = {"in": {"idx": T(gi)}, "out": T(xa.gather(1, gi))}
ew["gather_0"] = {"in": {"idx": T(gi[:, :2] % 2)}, "out": T(xa.gather(0, gi[:, :2] % 2))}
ew["index_select_1"] = {"out": T(xa.index_select(1, torch.tensor([2, 0, 2])))}
ew["index_select_0"] = {"out": T(xa.index_select(0, torch.tensor([1])))}
ew["nonzero"] = {"out": T(bm1.nonzero())}
ew["nonzero_float"] = {"out": T(torch.tensor([0.0, 1.5, 0.0, -2.0]).nonzero())}
ew["one_hot"] = {"out": T(F.one_hot(torch.tensor([3, 0, 1])))}
ew["one_hot_n"] = {"out": T(F.one_hot(torch.tensor([[1], [0]]), num_classes=4))}
ew["index_oob_err"] = err(lambda: xa.index_select(1, torch.tensor([3])))
ew["broadcast_err"] = err(lambda: xa + torch.ones(2))

# ---------------------------------------------------------------- reductions
rd = S["reductions"] = {}
r3 = seeded((2, 3, 4), 20)
ri = torch.tensor([[1, 3, 3, -2], [2, 2, 0, 5], [7, -1, 7, 0]], dtype=torch.int32)
rd["_inputs"] = {"in": {"x": T(r3), "i": T(ri)}}
dims_list = [None, [0], [1], [-1], [0, 2]]
for dims in dims_list:
    for kd in [False, True]:
        key = f"{'all' if dims is None else '_'.join(map(str, dims))}_{'k' if kd else 'n'}"
        if dims is None:
            if kd:
                continue
            rd["sum_" + key] = {"out": T(r3.sum())}
            rd["mean_" + key] = {"out": T(r3.mean())}
            rd["var_" + key] = {"out": T(r3.var())}
            rd["varb_" + key] = {"out": T(r3.var(unbiased=False))}
            rd["std_" + key] = {"out": T(r3.std())}
            rd["prod_" + key] = {"out": T(r3.prod())}
            continue
        rd["sum_" + key] = {"args": {"dims": dims, "keepdim": kd}, "out": T(r3.sum(dim=dims, keepdim=kd))}
        rd["mean_" + key] = {"args": {"dims": dims, "keepdim": kd}, "out": T(r3.mean(dim=dims, keepdim=kd))}
        rd["var_" + key] = {"args": {"dims": dims, "keepdim": kd}, "out": T(r3.var(dim=dims, keepdim=kd))}
        rd["varb_" + key] = {"args": {"dims": dims, "keepdim": kd}, "out": T(r3.var(dim=dims, unbiased=False, keepdim=kd))}
        rd["std_" + key] = {"args": {"dims": dims, "keepdim": kd}, "out": T(r3.std(dim=dims, keepdim=kd))}
        rd["stdb_" + key] = {"args": {"dims": dims, "keepdim": kd}, "out": T(r3.std(dim=dims, unbiased=False, keepdim=kd))}
for d in [0, 1, 2, -1]:
    for kd in [False, True]:
        m = r3.max(dim=d, keepdim=kd)
        n = r3.min(dim=d, keepdim=kd)
        rd[f"max_{d}_{kd}"] = {"args": {"dim": d, "keepdim": kd}, "out": [T(m.values), T(m.indices)]}
        rd[f"min_{d}_{kd}"] = {"args": {"dim": d, "keepdim": kd}, "out": [T(n.values), T(n.indices)]}
        rd[f"argmax_{d}_{kd}"] = {"args": {"dim": d, "keepdim": kd}, "out": T(r3.argmax(dim=d, keepdim=kd))}
        rd[f"prod_{d}_{kd}"] = {"args": {"dim": d, "keepdim": kd}, "out": T(r3.prod(dim=d, keepdim=kd))}
        rd[f"logsumexp_{d}_{kd}"] = {"args": {"dim": d, "keepdim": kd}, "out": T(r3.logsumexp(dim=d, keepdim=kd))}
    rd[f"cumsum_{d}"] = {"args": {"dim": d}, "out": T(r3.cumsum(dim=d))}
    rd[f"softmax_{d}"] = {"args": {"dim": d}, "out": T(r3.softmax(dim=d))}
    rd[f"log_softmax_{d}"] = {"args": {"dim": d}, "out": T(r3.log_softmax(dim=d))}
rd["max_all"] = {"out": T(r3.max())}
rd["min_all"] = {"out": T(r3.min())}
rd["argmax_all"] = {"out": T(r3.argmax())}
rd["argmin_all"] = {"out": T(r3.argmin())}
for d in [0, 1]:
    m = ri.max(dim=d)
    rd[f"int_max_{d}"] = {"args": {"dim": d}, "out": [T(m.values), T(m.indices)]}
    m = ri.min(dim=d)
    rd[f"int_min_{d}"] = {"args": {"dim": d}, "out": [T(m.values), T(m.indices)]}
    rd[f"int_argmax_{d}"] = {"args": {"dim": d}, "out": T(ri.argmax(dim=d))}
    rd[f"int_argmin_{d}"] = {"args": {"dim": d}, "out": T(ri.argmin(dim=d))}
    rd[f"int_sum_{d}"] = {"args": {"dim": d}, "out": T(ri.sum(dim=d))}
    rd[f"int_prod_{d}"] = {"args": {"dim": d}, "out": T(ri.prod(dim=d))}
    rd[f"int_cumsum_{d}"] = {"args": {"dim": d}, "out": T(ri.cumsum(dim=d))}
    rd[f"all_{d}"] = {"args": {"dim": d}, "out": T((ri != 0).all(dim=d))}
    rd[f"any_{d}"] = {"args": {"dim": d}, "out": T((ri > 5).any(dim=d))}
rd["int_sum_all"] = {"out": T(ri.sum())}
rd["all_all"] = {"out": T((ri != 0).all())}
rd["any_all"] = {"out": T((ri > 5).any())}
rd["mean_int_err"] = err(lambda: ri.mean())
for k, d, lg in [(2, -1, True), (3, 1, True), (1, 0, False), (4, -1, False)]:
    tv = r3.topk(k, dim=d, largest=lg)
    rd[f"topk_{k}_{d}_{lg}"] = {"args": {"k": k, "dim": d, "largest": lg}, "out": [T(tv.values), T(tv.indices)]}
tv = ri.topk(2, dim=1)
rd["int_topk_2_1"] = {"out": [T(tv.values), T(tv.indices)]}
bc = torch.tensor([1, 1, 3, 0, 5, 3, 3])
rd["bincount"] = {"in": {"b": T(bc)}, "out": T(bc.bincount())}
rd["bincount_min"] = {"out": T(bc.bincount(minlength=9))}
bw = torch.tensor([0.5, 0.25, 1.0, 2.0, -1.0, 0.125, 3.0])
rd["bincount_w"] = {"in": {"w": T(bw)}, "out": T(bc.bincount(weights=bw))}

# ---------------------------------------------------------------- matmul
mm = S["matmul"] = {}
shapes = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
          ((2, 2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 4)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)),
          ((1, 2, 3), (4, 3, 2))]
for i, (sa, sb) in enumerate(shapes):
    A = seeded(sa, 30 + i)
    B = seeded(sb, 60 + i)
    mm["x".join(map(str, sa)) + "@" + "x".join(map(str, sb))] = {"in": {"a": T(A), "b": T(B)}, "out": T(A @ B)}
mm["err_2d"] = err(lambda: torch.ones(6, 3) @ torch.ones(2, 3))
mm["err_batched"] = err(lambda: torch.ones(2, 2, 3) @ torch.ones(2, 2, 3))
mm["err_1d"] = err(lambda: torch.ones(3) @ torch.ones(4))
mm["err_0d"] = err(lambda: torch.tensor(1.0) @ torch.ones(3))
mm["err_batch_broadcast"] = err(lambda: torch.ones(2, 2, 3) @ torch.ones(3, 3, 4))
mm["err_dtype"] = err(lambda: torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64))
dA, dB = seeded((5,), 90), seeded((5,), 91)
mm["dot"] = {"in": {"a": T(dA), "b": T(dB)}, "out": T(dA.dot(dB))}
oA, oB = seeded((3,), 92), seeded((4,), 93)
mm["outer"] = {"in": {"a": T(oA), "b": T(oB)}, "out": T(torch.outer(oA, oB))}
mm["mm_f64"] = {"in": {"a": T(seeded((2, 3), 94).double()), "b": T(seeded((3, 2), 95).double())},
                "out": T(seeded((2, 3), 94).double() @ seeded((3, 2), 95).double())}

# ---------------------------------------------------------------- devices
dv = S["devices"] = {}
dv["strings"] = {s: str(torch.device(s)) for s in ["cpu", "meta", "cuda:0", "cuda:1", "cuda"]}
dv["bad"] = {s: err(lambda s=s: torch.device(s)) for s in ["gpu", "cuda:-1", "cuda:x"]}
m1 = torch.empty(2, 3, 4, device="meta")
dv["meta_matmul_shape"] = list((m1 @ torch.empty(4, 5, device="meta")).shape)
dv["meta_sum_shape"] = list(m1.sum(1).shape)
dv["meta_softmax_shape"] = list(m1.softmax(-1).shape)
dv["meta_view_shape"] = list(m1.view(6, 4).shape)
dv["meta_item"] = err(lambda: m1[0, 0, 0].item())
dv["meta_add_cpu"] = err(lambda: m1 + torch.ones(2, 3, 4))
dv["cpu_add_meta"] = err(lambda: torch.ones(2, 3, 4) + m1)
dv["meta_matmul_cpu"] = err(lambda: m1 @ torch.ones(4, 5))
dv["masked_fill_meta_cpu"] = err(lambda: m1.masked_fill_(torch.ones(2, 3, 4, dtype=torch.bool), 0.0))
dv["meta_to_cpu"] = err(lambda: m1.to("cpu"))
dv["meta_repr"] = repr(m1)

# ---------------------------------------------------------------- printing / grad_fn names
pr = S["printing"] = {}
pa = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
pb = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
p3 = torch.arange(12.0).reshape(2, 3, 2).requires_grad_()
cases = {
    "add": lambda: pa + pb, "mul": lambda: pa * pb, "sub": lambda: pa - 1.0, "div": lambda: pa / 2,
    "mm": lambda: pa @ pb, "matmul_3d_2d": lambda: p3 @ pb, "matmul_3d_3d": lambda: p3.transpose(1, 2) @ p3,
    "matmul_2d_1d": lambda: pa @ torch.tensor([1.0, 2.0]),
    "reshape_copy": lambda: pa.t().reshape(4), "view": lambda: pa.view(4),
    "softmax": lambda: pa.softmax(dim=-1), "log_softmax": lambda: pa.log_softmax(dim=0),
    "sum": lambda: pa.sum(), "sum_dim": lambda: pa.sum(0), "sum_dim_keep": lambda: pa.sum(-1, keepdim=True),
    "mean": lambda: pa.mean(), "mean_dim": lambda: pa.mean(1),
    "transpose": lambda: pa.transpose(0, 1), "relu": lambda: pa.relu(), "exp": lambda: pa.exp(),
    "neg": lambda: -pa, "pow": lambda: pa.pow(2), "masked_fill": lambda: pa.masked_fill(pb > 0, 0.0),
    "select": lambda: pa[0], "slice": lambda: pa[:, 1:], "unsqueeze": lambda: pa.unsqueeze(0),
    "tanh": lambda: pa.tanh(), "max_dim": lambda: pa.max(dim=1).values, "cat": lambda: torch.cat([pa, pb]),
    "int_result": lambda: torch.tensor([1, 2, 3]) * 2, "bool_result": lambda: pb > 0,
    "half": lambda: pb.half(), "float64": lambda: pb.double() / 3,
}
for n, f in cases.items():
    r = f()
    pr[n] = {"repr": repr(r), "grad_fn": type(r.grad_fn).__name__ if r.grad_fn is not None else None}
pr["_inputs"] = {"in": {"a": T(pa), "b": T(pb), "p3": T(p3)}}

# ---------------------------------------------------------------- random
rn = S["random"] = {}
torch.manual_seed(123)
seq = []
seq.append(("rand_3x4", torch.rand(3, 4)))
seq.append(("randn_2x5", torch.randn(2, 5)))
seq.append(("randn_20", torch.randn(20)))
seq.append(("rand_7", torch.rand(7)))
seq.append(("randint_0_10_6", torch.randint(0, 10, (6,))))
seq.append(("randint_m5_5_2x3", torch.randint(-5, 5, (2, 3))))
seq.append(("randperm_8", torch.randperm(8)))
probs = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]])
seq.append(("multinomial_repl_5", torch.multinomial(probs, 5, replacement=True)))
seq.append(("multinomial_norepl_3", torch.multinomial(probs, 3)))
seq.append(("multinomial_1d", torch.multinomial(torch.tensor([0.25, 0.25, 0.5]), 1)))
seq.append(("randn_after", torch.randn(3)))
rn["sequence"] = [{"id": n, "out": T(t)} for n, t in seq]
rn["probs"] = T(probs)

print(json.dumps({"torch": torch.__version__, "sections": S}, indent=None, separators=(",", ":")))
