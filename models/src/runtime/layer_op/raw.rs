//! Allocation-free access to a custom kernel's tensors through ONNX Runtime's C API.
//!
//! ort's safe `ComputeContext::input` builds a value wrapper with its type and shape (heap
//! allocations, a shape vector) for every tensor of every call: about 5 us of a 70 us decoding
//! step at five tensors a layer. These read the same facts into the stack.

use ort::AsPointer;
use ort::operator::ComputeContext;
use ort::sys::{OrtKernelContext, OrtStatusPtr, OrtValue};

use super::err;

/// The most dimensions a tensor of these kernels has.
const MAX_DIMS: usize = 4;

/// A tensor's data pointer and shape.
pub(super) struct RawTensor {
    pub data: *mut std::ffi::c_void,
    pub dims: [i64; MAX_DIMS],
    pub rank: usize,
}

impl RawTensor {
    /// The shape.
    pub fn shape(&self) -> &[i64] {
        &self.dims[..self.rank]
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().map(|&d| d.max(0) as usize).product()
    }
}

/// `Err` with ONNX Runtime's message when `status` is an error (releasing it).
fn check(status: OrtStatusPtr) -> ort::Result<()> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: a non-null status from the API, read then released once.
    let msg = unsafe {
        let m = (api.GetErrorMessage)(status.0);
        let s = if m.is_null() {
            String::from("unknown error")
        } else {
            std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned()
        };
        (api.ReleaseStatus)(status.0);
        s
    };
    Err(err(msg))
}

/// The data and shape of `value`, read in place (no type-and-shape object is made).
///
/// # Safety
/// `value` must be a live tensor value.
unsafe fn describe(value: *mut OrtValue) -> ort::Result<RawTensor> {
    let api = ort::api();
    // SAFETY (this block): `value` is live (the caller's contract); the shape pointer ONNX Runtime
    // returns points into it and is read before this returns.
    unsafe {
        let mut elem = std::mem::zeroed();
        let mut shape: *const i64 = std::ptr::null();
        let mut rank = 0usize;
        check((api.GetTensorElementTypeAndShapeDataReference)(
            value, &mut elem, &mut shape, &mut rank,
        ))?;
        if rank > MAX_DIMS {
            return Err(err(format!("a tensor of rank {rank}")));
        }
        let mut dims = [0i64; MAX_DIMS];
        if rank > 0 {
            dims[..rank].copy_from_slice(std::slice::from_raw_parts(shape, rank));
        }
        let mut data = std::ptr::null_mut();
        check((api.GetTensorMutableData)(value, &mut data))?;
        Ok(RawTensor { data, dims, rank })
    }
}

fn kernel_ctx(ctx: &ComputeContext) -> *mut OrtKernelContext {
    ctx.ptr() as *mut OrtKernelContext
}

/// Input `i` of the running kernel.
pub(super) fn input(ctx: &ComputeContext, i: usize) -> ort::Result<RawTensor> {
    let mut v: *const OrtValue = std::ptr::null();
    // SAFETY: `ctx` is the live context of the running kernel.
    check(unsafe { (ort::api().KernelContext_GetInput)(kernel_ctx(ctx), i, &mut v) })?;
    if v.is_null() {
        return Err(err(format!("input {i} missing")));
    }
    // SAFETY: a live input value of this call.
    unsafe { describe(v as *mut OrtValue) }
}

/// Output `i` of the running kernel with shape `dims` (the caller's bound buffer when it has
/// that shape).
pub(super) fn output(ctx: &ComputeContext, i: usize, dims: &[i64]) -> ort::Result<RawTensor> {
    let mut v: *mut OrtValue = std::ptr::null_mut();
    // SAFETY: `ctx` is the live context of the running kernel; `dims` outlives the call.
    check(unsafe { (ort::api().KernelContext_GetOutput)(kernel_ctx(ctx), i, dims.as_ptr(), dims.len(), &mut v) })?;
    if v.is_null() {
        return Err(err(format!("output {i} missing")));
    }
    // SAFETY: a live output value of this call.
    unsafe { describe(v) }
}

/// Optional input `i` of the running kernel: `None` when the graph leaves it out.
pub(super) fn input_opt(ctx: &ComputeContext, i: usize) -> ort::Result<Option<RawTensor>> {
    let mut v: *const OrtValue = std::ptr::null();
    // SAFETY: `ctx` is the live context of the running kernel.
    check(unsafe { (ort::api().KernelContext_GetInput)(kernel_ctx(ctx), i, &mut v) })?;
    if v.is_null() {
        return Ok(None);
    }
    // SAFETY: a live input value of this call.
    unsafe { describe(v as *mut OrtValue).map(Some) }
}
