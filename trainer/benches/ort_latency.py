#!/usr/bin/env python3
"""Per-token decode latency of an exported graph in Python onnxruntime (batch 1, KV cache, one
thread), to compare with the same graph through the Rust `ort` path (`trainer eval`'s `latency_ms`,
`cargo bench -p sideman-trainer --bench decode_graphs`).

A primitive graph feeds its `present_*` outputs back as `past_*`. A fused graph (one with a
`seqlens_k` input) runs as onnxruntime-genai runs such graphs: one buffer per layer of the context's
capacity, bound with IoBinding as both past and present, the counts and ids updated in place.
Like the Rust benchmark, the cache is kept between the prefill and the context (`--capacity`).

    pip install onnxruntime==1.31.1 numpy
    python3 trainer/benches/ort_latency.py runs/pkg/model.int8.onnx --prefill 64 --tokens 256
    # a kernel graph (Sideman's own operators, `cargo build --release -p sideman-ortops`):
    python3 trainer/benches/ort_latency.py pkg/model.int8.onnx --custom-ops target/release/libsideman_ortops.so
"""
import argparse, json, os, time

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prefill", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--capacity", type=int, default=512, help="context (fused graphs: the cache buffers)")
    ap.add_argument("--profile", help="write onnxruntime's per-node profile to this file prefix")
    ap.add_argument("--custom-ops", help="a custom-op library to register (the kernel graph's: target/release/libsideman_ortops.so)")
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if a.custom_ops:
        so.register_custom_ops_library(a.custom_ops)
    if a.profile:
        so.enable_profiling = True
        so.profile_file_prefix = a.profile
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in s.get_inputs()}
    if "seqlens_k" in inputs:
        best = fused(s, a, inputs)
    else:
        best = primitive(s, a)
    if a.profile:
        s.end_profiling()
    print(json.dumps({"model": os.path.basename(a.model), "ms_per_token": best * 1e3, "onnxruntime": ort.__version__}))


def fused(s, a, inputs):
    past = [i for i in s.get_inputs() if i.name.startswith("past_key_")]
    layers, h, hd = len(past), past[0].shape[1], past[0].shape[3]
    feats = [i for i in s.get_inputs() if i.name not in ("input_ids", "seqlens_k", "total_sequence_length") and not i.name.startswith("past_")]
    nfeat = feats[0].shape[2] if feats else 0
    vocab = s.get_outputs()[0].shape[2]
    # The kernel graph's cache is f16, the fused graph's f32.
    cache_type = np.float16 if past[0].type == "tensor(float16)" else np.float32
    cache = {f"{kv}_{i}": ort.OrtValue.ortvalue_from_numpy(np.zeros((1, h, a.capacity, hd), cache_type)) for i in range(layers) for kv in ("key", "value")}
    seqlens = ort.OrtValue.ortvalue_from_numpy(np.zeros(1, np.int32))
    total = ort.OrtValue.ortvalue_from_numpy(np.zeros(1, np.int32))
    ids1 = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, 1), np.int64))
    feat1 = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, 1, nfeat), np.int64)) if nfeat else None
    logits1 = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, 1, vocab), np.float32))

    def bind(ids, feat, logits):
        b = s.io_binding()
        b.bind_ortvalue_input("input_ids", ids)
        if feat is not None:
            b.bind_ortvalue_input(feats[0].name, feat)
        b.bind_ortvalue_input("seqlens_k", seqlens)
        b.bind_ortvalue_input("total_sequence_length", total)
        for k, v in cache.items():
            b.bind_ortvalue_input(f"past_{k}", v)
            b.bind_ortvalue_output(f"present_{k}", v)
        b.bind_ortvalue_output("logits", logits)
        return b

    step = bind(ids1, feat1, logits1)
    rng = np.random.default_rng(0)
    best = float("inf")
    for _ in range(a.repeats):
        n = a.prefill
        ids = ort.OrtValue.ortvalue_from_numpy(rng.integers(0, 1000, (1, n)).astype(np.int64))
        feat = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, n, nfeat), np.int64)) if nfeat else None
        logits = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, n, vocab), np.float32))
        seqlens.update_inplace(np.array([n - 1], np.int32))
        total.update_inplace(np.array([n], np.int32))
        s.run_with_iobinding(bind(ids, feat, logits))
        nxt = int(logits.numpy()[0, -1].argmax())
        t0 = time.perf_counter()
        for _ in range(a.tokens):
            if n + 1 >= a.capacity:
                n = a.prefill
            n += 1
            ids1.update_inplace(np.array([[nxt]], np.int64))
            seqlens.update_inplace(np.array([n - 1], np.int32))
            total.update_inplace(np.array([n], np.int32))
            s.run_with_iobinding(step)
            nxt = int(logits1.numpy()[0, -1].argmax())
        best = min(best, (time.perf_counter() - t0) / a.tokens)
    return best


def primitive(s, a):
    past = [i for i in s.get_inputs() if i.name.startswith("past_key_")]
    layers = len(past)
    h, hd = past[0].shape[1], past[0].shape[3]
    feats = [i for i in s.get_inputs() if i.name != "input_ids" and not i.name.startswith("past_")]
    rng = np.random.default_rng(0)
    best = float("inf")

    def with_features(feeds, n):
        for f in feats:
            feeds[f.name] = np.zeros((1, n, f.shape[2]), np.int64)
        return feeds

    for _ in range(a.repeats):
        feeds = {f"past_{kv}_{i}": np.zeros((1, h, 0, hd), np.float32) for i in range(layers) for kv in ("key", "value")}
        feeds["input_ids"] = rng.integers(0, 1000, (1, a.prefill)).astype(np.int64)
        with_features(feeds, a.prefill)
        names = [o.name for o in s.get_outputs()]
        out = dict(zip(names, s.run(None, feeds)))
        t0 = time.perf_counter()
        for _ in range(a.tokens):
            feeds = {f"past_{kv}_{i}": out[f"present_{kv}_{i}"] for i in range(layers) for kv in ("key", "value")}
            feeds["input_ids"] = np.array([[int(out["logits"][0, -1].argmax())]], np.int64)
            with_features(feeds, 1)
            out = dict(zip(names, s.run(None, feeds)))
        best = min(best, (time.perf_counter() - t0) / a.tokens)
    return best


if __name__ == "__main__":
    main()
