"""Reference results from PyTorch for gogan's binding tests.

Usage: torch_reference.py ops CASES.json INPUTS.safetensors OUT.safetensors
       torch_reference.py optim CASES.json INPUTS.safetensors OUT.safetensors

The Go tests write the inputs and a JSON list of cases, run this script with
Debian's python3-torch, and compare what it writes with what libtorch computed
through gogan. Nothing here is pasted from gogan: each case is the plain
PyTorch call.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors_torch  # noqa: E402


def tensor(a):
    return a


RED = {0: "none", 1: "mean", 2: "sum"}


def run_op(op, p, x):
    """x is the list of input tensors; p the case's parameters."""
    if op == "conv2d":
        return F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=p["stride"],
                        padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
    if op == "conv_transpose2d":
        return F.conv_transpose2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=p["stride"],
                                  padding=p["padding"], output_padding=p["output_padding"],
                                  groups=p["groups"], dilation=p["dilation"])
    if op == "batch_norm":
        return F.batch_norm(x[0], x[3], x[4], x[1], x[2], training=p["training"],
                            momentum=p["momentum"], eps=p["eps"])
    if op == "instance_norm":
        w = x[1] if len(x) > 1 else None
        b = x[2] if len(x) > 2 else None
        return F.instance_norm(x[0], weight=w, bias=b, eps=p["eps"])
    if op == "dropout":
        torch.manual_seed(p["seed"])
        return F.dropout(x[0], p=p["p"], training=p["train"])
    if op == "pad":
        mode = {0: "constant", 1: "reflect", 2: "replicate"}[p["mode"]]
        return F.pad(x[0], p["pad"], mode=mode)
    if op == "avg_pool2d":
        return F.avg_pool2d(x[0], p["kernel"], p["stride"], p["padding"], ceil_mode=p["ceil_mode"],
                            count_include_pad=p["count_include_pad"])
    if op == "max_pool2d":
        return F.max_pool2d(x[0], p["kernel"], p["stride"], p["padding"])
    if op == "upsample":
        if p["mode"] == 0:
            return F.interpolate(x[0], size=p["size"], mode="nearest")
        return F.interpolate(x[0], size=p["size"], mode="bilinear", align_corners=p["align_corners"])
    if op == "unary":
        return getattr(torch, p["fn"])(x[0])
    if op == "binary":
        return getattr(torch, p["fn"])(x[0], x[1])
    if op == "scalar":
        fn, s = p["fn"], p["s"]
        return {
            "add": lambda: x[0] + s, "sub": lambda: x[0] - s, "mul": lambda: x[0] * s,
            "div": lambda: x[0] / s, "pow": lambda: x[0] ** s, "rsub": lambda: s - x[0],
            "leaky_relu": lambda: F.leaky_relu(x[0], s),
        }[fn]()
    if op == "clamp":
        return torch.clamp(x[0], min=p.get("min"), max=p.get("max"))
    if op == "sum":
        return x[0].sum(dim=p["dims"], keepdim=p["keepdim"]) if p.get("dims") else x[0].sum()
    if op == "mean":
        return x[0].mean(dim=p["dims"], keepdim=p["keepdim"]) if p.get("dims") else x[0].mean()
    if op == "norm2":
        return x[0].norm(2, dim=p["dims"], keepdim=p["keepdim"])
    if op == "cat":
        return torch.cat(x, dim=p["dim"])
    if op == "reshape":
        return x[0].reshape(p["shape"])
    if op == "view":
        return x[0].view(p["shape"])
    if op == "permute":
        return x[0].permute(p["dims"])
    if op == "flatten":
        return x[0].flatten(p["start"], p["end"])
    if op == "narrow":
        return x[0].narrow(p["dim"], p["start"], p["length"])
    if op == "index_select":
        return x[0].index_select(p["dim"], torch.tensor(p["index"], dtype=torch.int64))
    if op == "index_add":
        return x[0].index_add(p["dim"], torch.tensor(p["index"], dtype=torch.int64), x[1])
    if op == "loss":
        r = RED[p["reduction"]]
        return {
            "bce": lambda: F.binary_cross_entropy(x[0], x[1], reduction=r),
            "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(x[0], x[1], reduction=r),
            "mse": lambda: F.mse_loss(x[0], x[1], reduction=r),
            "l1": lambda: F.l1_loss(x[0], x[1], reduction=r),
        }[p["fn"]]()
    if op == "grad_penalty":
        # WGAN-GP: || d(sum(D(x)))/dx ||^2 through a double backward
        out = (torch.tanh(x[0] * x[1])).sum()
        (g,) = torch.autograd.grad(out, x[0], create_graph=True)
        return (g.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
    raise ValueError("unknown op " + op)


def ops(cases, inputs):
    out = {}
    for c in cases:
        xs = []
        for name in c["inputs"]:
            t = tensor(inputs[name]).clone()
            if name in c["grad"]:
                t.requires_grad_(True)
            xs.append(t)
        y = run_op(c["op"], c["params"], xs)
        out[c["name"] + ".out"] = y.detach()
        if c["grad"]:
            gout = tensor(inputs[c["name"] + ".gout"])
            y.backward(gout)
            for name, t in zip(c["inputs"], xs):
                if name in c["grad"]:
                    out[c["name"] + ".grad." + name] = t.grad
        # running stats that the op updated in place
        for name, t in zip(c["inputs"], xs):
            if name in c.get("state", []):
                out[c["name"] + ".state." + name] = t.detach()
    return out


def optim(cases, inputs):
    out = {}
    for c in cases:
        params = [torch.nn.Parameter(tensor(inputs[n]).clone()) for n in c["params"]]
        p = c["options"]
        if c["kind"] == "adam":
            cls = torch.optim.AdamW if p.get("decoupled") else torch.optim.Adam
            # a case without eps and weight_decay takes torch's defaults
            kw = {k: p[k] for k in ("eps", "weight_decay") if k in p}
            opt = cls(params, lr=p["lr"], betas=(p["beta1"], p["beta2"]), **kw)
        else:
            opt = torch.optim.SGD(params, lr=p["lr"], momentum=p["momentum"], dampening=p["dampening"],
                                  weight_decay=p["weight_decay"], nesterov=p["nesterov"])
        for step in range(c["steps"]):
            for i, prm in enumerate(params):
                prm.grad = tensor(inputs["%s.grad.%d.%d" % (c["name"], step, i)]).clone()
            if "lrs" in c:
                for g in opt.param_groups:
                    g["lr"] = c["lrs"][step]
            opt.step()
        for i, prm in enumerate(params):
            out["%s.param.%d" % (c["name"], i)] = prm.detach()
            st = opt.state[prm]
            for k, v in st.items():
                if torch.is_tensor(v):
                    out["%s.%s.%d" % (c["name"], k, i)] = v.detach().float() if k == "step" else v.detach()
    return out


def main():
    mode, cases_path, in_path, out_path = sys.argv[1:5]
    torch.set_num_threads(int(os.environ.get("GOGAN_REF_THREADS", "1")))
    with open(cases_path) as f:
        cases = json.load(f)
    inputs, _ = safetensors_torch.load(in_path)
    result = ops(cases, inputs) if mode == "ops" else optim(cases, inputs)
    safetensors_torch.save(out_path, result)


if __name__ == "__main__":
    main()
