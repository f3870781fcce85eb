#!/usr/bin/env python3
"""PyTorch reference of the trainer's default model, for the training-throughput benchmark.

Same network as trainer/src/model.rs (pre-LN, fused QKV, rotary rotate-half, GELU erf, tied
output), same batch (16 x 256), AdamW, one thread. Prints tokens/s. Not used by any test.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # or plain `pip install torch`
    python3 trainer/benches/torch_reference.py --steps 30 [--sdpa]
"""
import argparse, math, time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 1224


class Block(nn.Module):
    def __init__(s, d, h, ff, sdpa):
        super().__init__()
        s.h, s.sdpa = h, sdpa
        s.ln1, s.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        s.qkv, s.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        s.fc1, s.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(s, x, cos, sin, mask):
        b, t, d = x.shape
        hd = d // s.h
        q, k, v = s.qkv(s.ln1(x)).split(d, dim=-1)
        q, k, v = [z.view(b, t, s.h, hd).transpose(1, 2) for z in (q, k, v)]

        def rope(z):
            z1, z2 = z[..., : hd // 2], z[..., hd // 2 :]
            return torch.cat([z1 * cos - z2 * sin, z2 * cos + z1 * sin], dim=-1)

        q, k = rope(q), rope(k)
        if s.sdpa:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask
            a = att.softmax(-1) @ v
        x = x + s.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + s.fc2(F.gelu(s.fc1(s.ln2(x))))


class Model(nn.Module):
    def __init__(s, layers=4, d=256, h=4, ff=1024, ctx=256, sdpa=False):
        super().__init__()
        s.embed = nn.Embedding(VOCAB, d)
        s.blocks = nn.ModuleList([Block(d, h, ff, sdpa) for _ in range(layers)])
        s.ln_f = nn.LayerNorm(d)
        hd = d // h
        inv = 1.0 / (10000 ** (torch.arange(0, hd // 2).float() * 2 / hd))
        ang = torch.arange(ctx).float()[:, None] * inv[None, :]
        s.register_buffer("cos", ang.cos())
        s.register_buffer("sin", ang.sin())
        s.register_buffer("mask", torch.triu(torch.full((ctx, ctx), float("-inf")), 1))

    def forward(s, ids):
        t = ids.shape[1]
        x = s.embed(ids)
        for b in s.blocks:
            x = b(x, s.cos[:t], s.sin[:t], s.mask[:t, :t])
        return s.ln_f(x) @ s.embed.weight.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sdpa", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = Model(ctx=a.ctx, sdpa=a.sdpa)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, VOCAB, (a.batch, a.ctx + 1))
    x, y = ids[:, :-1], ids[:, 1:]
    w = (torch.rand(a.batch, a.ctx) < 0.7).float()
    times = []
    for i in range(a.steps + 3):
        t0 = time.perf_counter()
        logits = m(x)
        nll = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1), reduction="none")
        loss = (nll * w.reshape(-1)).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    tok = a.batch * a.ctx
    print(f"pytorch {torch.__version__} sdpa={a.sdpa} threads={a.threads}: {tok * len(times) / sum(times):.0f} tokens/s "
          f"({sum(p.numel() for p in m.parameters())} parameters)")


if __name__ == "__main__":
    main()
