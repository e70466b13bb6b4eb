#!/usr/bin/env python3
"""Reference timing: Gaussian VAE / IWAE training steps in PyTorch on CPU.

Usage: torch_vae.py --threads T --dtype float64|float32 --K 1 --iters 200
Prints one line: milliseconds per training iteration (median of 3 blocks);
with --per-iteration, also the median of the single iterations' times
(robust to a busy machine's interruptions) and the process's CPU time per
iteration (the median over the blocks), separated by spaces.
The project's reference script (first kept outside the package, in the
project's shared/bench), copied here so that the benchmark is self-contained;
inst/bench/bench.R runs it.
Architecture: d_x-h-d_z encoder (mean and log-variance heads), d_z-h-d_x decoder,
tanh hidden activation, Gaussian decoder with fixed variance, Adam, batch B.
"""
import argparse, time, math, statistics
import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--dtype", default="float64")
p.add_argument("--K", type=int, default=1)
p.add_argument("--B", type=int, default=128)
p.add_argument("--dx", type=int, default=784)
p.add_argument("--h", type=int, default=400)
p.add_argument("--dz", type=int, default=20)
p.add_argument("--iters", type=int, default=100)
p.add_argument("--per-iteration", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
dt = getattr(torch, a.dtype)
torch.manual_seed(1)
N = 4096
X = torch.rand(N, a.dx, dtype=dt)

enc = torch.nn.Linear(a.dx, a.h).to(dt); mu = torch.nn.Linear(a.h, a.dz).to(dt); lv = torch.nn.Linear(a.h, a.dz).to(dt)
dec1 = torch.nn.Linear(a.dz, a.h).to(dt); dec2 = torch.nn.Linear(a.h, a.dx).to(dt)
params = [q for m in (enc, mu, lv, dec1, dec2) for q in m.parameters()]
opt = torch.optim.Adam(params, lr=1e-3)
c2 = 0.1

def loss_fn(x):
    h = torch.tanh(enc(x)); m = mu(h); logv = lv(h)
    std = torch.exp(0.5 * logv)
    eps = torch.randn(a.K, *m.shape, dtype=dt)
    z = m + std * eps                                  # K x B x dz
    xh = dec2(torch.tanh(dec1(z)))                     # K x B x dx
    logpx = -0.5 * ((x - xh) ** 2).sum(-1) / c2 - 0.5 * a.dx * math.log(2 * math.pi * c2)
    logpz = -0.5 * (z ** 2).sum(-1) - 0.5 * a.dz * math.log(2 * math.pi)
    logq = -0.5 * (eps ** 2).sum(-1) - 0.5 * logv.sum(-1) - 0.5 * a.dz * math.log(2 * math.pi)
    logw = logpx + logpz - logq
    bound = torch.logsumexp(logw, 0) - math.log(a.K)
    return -bound.mean()

single = []
cpu = []
def block(n):
    c = time.process_time()
    t = time.perf_counter()
    for i in range(n):
        t1 = time.perf_counter()
        idx = torch.randint(0, N, (a.B,))
        opt.zero_grad(); l = loss_fn(X[idx]); l.backward()
        gn = torch.sqrt(sum((q.grad ** 2).sum() for q in params))  # gradient norm, as the package records
        opt.step()
        single.append(time.perf_counter() - t1)
    cpu.append((time.process_time() - c) / n * 1000)
    return (time.perf_counter() - t) / n * 1000

block(10)
del single[:]
del cpu[:]
ms = statistics.median(block(a.iters) for _ in range(3))
if a.per_iteration:
    print("%.3f %.4f %.4f" % (ms, statistics.median(single) * 1000, statistics.median(cpu)))
else:
    print("%.3f" % ms)
