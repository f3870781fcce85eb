//! candle's backward pass as the trainer builds it (the vendored candle-core stores a first
//! gradient as it is instead of adding it to zeros: `vendor/README.md`): gradients of variables
//! reached once, several times, through broadcasts, reshapes, transposes and matmuls, against their
//! closed forms.

use candle_core::{DType, Device, Tensor, Var};

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{a:?} against {b:?}");
    }
}

#[test]
fn gradients_of_single_and_repeated_uses_match_their_closed_forms() {
    let dev = Device::Cpu;
    let x = Var::from_vec(vec![0.5f32, -1.0, 2.0, 3.0, -0.25, 1.5], (2, 3), &dev).unwrap();
    let w = Var::from_vec(vec![1.0f32, 2.0, -1.0, 0.5, 0.25, -2.0], (3, 2), &dev).unwrap();
    let b = Var::from_vec(vec![0.1f32, -0.2], 2, &dev).unwrap();
    // y = sum((x w + b)^2) + sum(x) + sum(x^T): x is used four times (matmul, two sums, square
    // through the matmul), b once through a broadcast, w once.
    let h = x.matmul(&w).unwrap().broadcast_add(&b).unwrap();
    let y = (h.sqr().unwrap().sum_all().unwrap()
        + x.sum_all().unwrap()
        + x.t().unwrap().contiguous().unwrap().sum_all().unwrap())
    .unwrap();
    let g = y.backward().unwrap();
    // dy/dh = 2h; dy/dx = 2h w^T + 2; dy/dw = x^T 2h; dy/db = sum over rows of 2h.
    let h2 = (h.as_ref() * 2.0).unwrap();
    let want_x = (h2.matmul(&w.t().unwrap()).unwrap() + 2.0).unwrap();
    let want_w = x.t().unwrap().matmul(&h2).unwrap();
    let want_b = h2.sum(0).unwrap();
    close(&values(g.get(&x).unwrap()), &values(&want_x));
    close(&values(g.get(&w).unwrap()), &values(&want_w));
    close(&values(g.get(&b).unwrap()), &values(&want_b));
    for v in [&x, &w, &b] {
        let gv = g.get(v).unwrap();
        assert_eq!(gv.dims(), v.dims());
        assert!(gv.is_contiguous());
        assert_eq!(gv.dtype(), DType::F32);
    }
}

#[test]
fn a_gradient_reached_only_through_a_broadcast_has_the_variable_shape() {
    let dev = Device::Cpu;
    let b = Var::from_vec(vec![1.0f32, 2.0, 3.0], 3, &dev).unwrap();
    let y = b
        .broadcast_as((4, 3))
        .unwrap()
        .mul(&Tensor::ones((4, 3), DType::F32, &dev).unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let g = y.backward().unwrap();
    let gb = g.get(&b).unwrap();
    assert_eq!(gb.dims(), &[3]);
    close(&values(gb), &[4.0, 4.0, 4.0]);
}

/// Sums over the first dimensions (the vendored fast path) and over others agree with a plain loop.
#[test]
fn sums_over_leading_and_other_dimensions_match_a_loop() {
    let dev = Device::Cpu;
    let (a, b, c) = (3usize, 5usize, 7usize);
    let data: Vec<f32> = (0..a * b * c).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
    let t = Tensor::from_vec(data.clone(), (a, b, c), &dev).unwrap();
    let at = |i: usize, j: usize, k: usize| data[(i * b + j) * c + k];
    let lead: Vec<f32> = (0..c)
        .map(|k| {
            (0..a)
                .flat_map(|i| (0..b).map(move |j| (i, j)))
                .map(|(i, j)| at(i, j, k))
                .sum()
        })
        .collect();
    close(&values(&t.sum_keepdim((0, 1)).unwrap()), &lead);
    let first: Vec<f32> = (0..b * c)
        .map(|jk| (0..a).map(|i| at(i, jk / c, jk % c)).sum())
        .collect();
    close(&values(&t.sum_keepdim(0).unwrap()), &first);
    let middle: Vec<f32> = (0..a * c)
        .map(|ik| (0..b).map(|j| at(ik / c, j, ik % c)).sum())
        .collect();
    close(&values(&t.sum_keepdim(1).unwrap()), &middle);
    // A non-contiguous source (a transpose) takes the general path.
    let tt = t.transpose(0, 1).unwrap();
    close(&values(&tt.sum_keepdim(0).unwrap()), &middle);
}

/// Batched matmuls as the attention's (many small products, run one per thread on two or more
/// threads by the vendored candle-core) give each item's own product (up to the rounding of a
/// different summation order), with plain, transposed and broadcast operands.
#[test]
fn batched_matmuls_equal_each_items_own_product() {
    let dev = Device::Cpu;
    let (b, h, m, k, n) = (3, 4, 17, 8, 13);
    let q = Tensor::randn(0f32, 1.0, (b, h, m, k), &dev).unwrap();
    let kt = Tensor::randn(0f32, 1.0, (b, h, n, k), &dev).unwrap();
    let w = Tensor::randn(0f32, 1.0, (k, n), &dev).unwrap();
    let products = [
        // [b, h, m, k] x [b, h, k, n] with a transposed (strided) right operand.
        (q.matmul(&kt.transpose(2, 3).unwrap()).unwrap(), false),
        // The same with the operand made contiguous.
        (
            q.matmul(&kt.transpose(2, 3).unwrap().contiguous().unwrap()).unwrap(),
            false,
        ),
        // A batch-invariant right operand.
        (q.broadcast_matmul(&w).unwrap(), true),
    ];
    for (i, (p, shared)) in products.iter().enumerate() {
        assert_eq!(p.dims(), [b, h, m, n]);
        for bi in 0..b {
            for hi in 0..h {
                let a = q.get(bi).unwrap().get(hi).unwrap();
                let r = if *shared {
                    w.clone()
                } else {
                    kt.get(bi).unwrap().get(hi).unwrap().t().unwrap().contiguous().unwrap()
                };
                let want = values(&a.matmul(&r).unwrap());
                let got = values(&p.get(bi).unwrap().get(hi).unwrap());
                assert_eq!(got.len(), want.len(), "product {i}, item ({bi}, {hi})");
                close(&got, &want);
            }
        }
    }
}
