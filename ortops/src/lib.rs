//! Sideman's ONNX Runtime operators (`models::runtime::layer_op`: `ai.sideman:DecoderEmbed`,
//! `DecoderLayer`, `DecoderHead`) as a custom-op library, so that another ONNX Runtime host can
//! run a package's kernel graph. The Sideman runtime registers the same operators itself; this
//! library is for comparisons and other tools, for example Python's onnxruntime:
//!
//! ```python
//! so = onnxruntime.SessionOptions()
//! so.register_custom_ops_library("target/release/libsideman_ortops.so")
//! s = onnxruntime.InferenceSession("model.int8.onnx", so)
//! ```
//!
//! Build: `cargo build --release -p sideman-ortops`. The host must be ONNX Runtime 1.31 (the API
//! version Sideman is built against) or newer.

use std::ffi::CString;

use ort::AsPointer;
use ort::sys::{OrtApiBase, OrtErrorCode, OrtSessionOptions, OrtStatus};

/// The entry point ONNX Runtime calls when a host registers this library
/// (`RegisterCustomOpsLibrary`): registers the `ai.sideman` domain with `options`.
///
/// # Safety
/// Called by ONNX Runtime with a live session options object and its API base.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn RegisterCustomOps(
    options: *mut OrtSessionOptions,
    api_base: *const OrtApiBase,
) -> *mut OrtStatus {
    if options.is_null() || api_base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: ONNX Runtime passes its own API base, whose GetApi returns its API table (or null
    // for a version it does not have).
    let api = unsafe { ((*api_base).GetApi)(ort::sys::ORT_API_VERSION) };
    if api.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live API table of the host's ONNX Runtime, which outlives this library.
    let api = unsafe { &*api };
    // The host's API (ours otherwise loads its own library); ignored when already set.
    ort::set_api(api.clone());
    let fail = |msg: String| {
        let msg = CString::new(msg).unwrap_or_default();
        // SAFETY: CreateStatus copies the message.
        unsafe { (api.CreateStatus)(OrtErrorCode::ORT_FAIL, msg.as_ptr()) }.0
    };
    match models::runtime::layer_op::domain() {
        Ok(domain) => {
            // The domain must outlive every session made with these options: it is never freed.
            let domain = Box::leak(Box::new(domain));
            // SAFETY: live options and domain.
            let status = unsafe { (api.AddCustomOpDomain)(options, domain.ptr().cast_mut()) };
            status.0
        }
        Err(e) => fail(format!("sideman operators: {e}")),
    }
}
