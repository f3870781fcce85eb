#!/usr/bin/env python3
"""Per-token decode latency of an exported package in Python onnxruntime (batch 1, KV cache, one
thread), to compare with the `latency_ms` that `trainer eval` reports (the same graph through the Rust
`ort` path).

    pip install onnxruntime==1.31.1 numpy
    python3 trainer/benches/ort_latency.py runs/pkg/model.int8.onnx --prefill 64 --tokens 256
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
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    past = [i for i in s.get_inputs() if i.name.startswith("past_key_")]
    layers = len(past)
    h, hd = past[0].shape[1], past[0].shape[3]
    rng = np.random.default_rng(0)
    best = float("inf")
    for _ in range(a.repeats):
        feeds = {f"past_{kv}_{i}": np.zeros((1, h, 0, hd), np.float32) for i in range(layers) for kv in ("key", "value")}
        feeds["input_ids"] = rng.integers(0, 1000, (1, a.prefill)).astype(np.int64)
        names = [o.name for o in s.get_outputs()]
        out = dict(zip(names, s.run(None, feeds)))
        t0 = time.perf_counter()
        for _ in range(a.tokens):
            feeds = {f"past_{kv}_{i}": out[f"present_{kv}_{i}"] for i in range(layers) for kv in ("key", "value")}
            feeds["input_ids"] = np.array([[int(out["logits"][0, -1].argmax())]], np.int64)
            out = dict(zip(names, s.run(None, feeds)))
        best = min(best, (time.perf_counter() - t0) / a.tokens)
    print(json.dumps({"model": os.path.basename(a.model), "ms_per_token": best * 1e3, "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    main()
