//! ONNX Runtime: loading the shared library and running transformer packages with a KV cache.
//!
//! - The library is loaded explicitly with `ort::init_from` (a missing file is a clean
//!   [`RuntimeError`]; ort's implicit loading would panic, which inside a DAW aborts the host).
//!   [`find_library`] looks, in order, at: an explicit path, `$SIDEMAN_ORT_LIB`, the folder of the
//!   plugin binary (found from the address of our own code: `dladdr` on Unix, `GetModuleHandleExW`
//!   on Windows), the current executable's folder only when our code is linked into it (tests,
//!   tools; never a host's folder, which may hold the host's own, different ONNX Runtime), and the
//!   project's install folder `target/onnxruntime/` (where `cargo xtask ort` puts it). The working
//!   directory and `PATH` are never searched.
//! - [`OnnxModel`] is one session (intra-op threads 1, inter-op 1, spinning off) decoding batch 1
//!   incrementally. With a fused graph (one that takes [`SEQLENS_INPUT`]) the KV cache stays in
//!   place in bound buffers ([`in_place`]) and [`TokenModel::truncate`] lowers a count; with the
//!   primitive graph of older packages the cache is the graph's `present_*` outputs fed back as
//!   `past_*` inputs, and truncating slices it. Either is how the generator rolls back.
//! - No ort type appears in this module's public API.
//!
//! Build and warm sessions off the audio thread; every call here may allocate and block.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{DynValue, Tensor};

use self::in_place::{InPlaceCache, SavedLayer};
use crate::model::{ModelError, ModelState, TokenModel};
use crate::package::{ModelKind, OnnxIo, Package, PackageError};
use crate::tokenizer::VOCAB_SIZE;
use crate::tokenizer::features::{FEATURE_INPUT, FeatureState, MAX_FEATURES, STYLE_FEATURES, feature_count};

mod in_place;
pub mod layer_op;

/// Input of a fused graph: per sequence, the tokens in the cache after the pass, minus one (int32).
pub const SEQLENS_INPUT: &str = "seqlens_k";
/// Input of a fused graph: the tokens in the cache after the pass (int32, one element).
pub const TOTAL_LEN_INPUT: &str = "total_sequence_length";

/// Environment variable naming the ONNX Runtime shared library.
pub const ORT_LIB_ENV: &str = "SIDEMAN_ORT_LIB";
/// ONNX Runtime version the project installs (its C API must match ort's `api-31`).
pub const ORT_VERSION: &str = "1.31.1";

/// File name of the ONNX Runtime library on this platform.
pub const fn library_file_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        "libonnxruntime.dylib"
    } else {
        "libonnxruntime.so"
    }
}

/// Why the runtime could not be set up or a model not loaded.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No ONNX Runtime library was found.
    #[error("ONNX Runtime library ({}) not found; looked in: {}. Fix: put {} (ONNX Runtime {ORT_VERSION}) next to the plugin file, or set {ORT_LIB_ENV} to its path; in a source checkout run `cargo xtask ort`", library_file_name(), .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "), library_file_name())]
    LibraryNotFound {
        /// Places searched.
        searched: Vec<PathBuf>,
    },
    /// The library exists but could not be loaded (wrong version, wrong architecture...).
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    Load {
        /// The library.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The package is not usable.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The package does not hold a transformer.
    #[error("package {0:?} does not hold an ONNX transformer")]
    NotTransformer(String),
    /// ONNX Runtime refused the model or failed to run it.
    #[error("ONNX Runtime: {0}")]
    Session(String),
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let module_dir = this_module_dir();
    if let Some(d) = &module_dir {
        dirs.push(d.clone());
    }
    // The executable's folder, when this code is linked into it (a test binary, the trainer); a
    // plugin inside a host would find the host's folder there.
    if let Ok(exe) = std::env::current_exe()
        && let Some(d) = exe.parent()
        && module_dir.as_deref().is_none_or(|m| same_dir(m, d))
    {
        dirs.push(d.to_path_buf());
        // Cargo test binaries live in target/<profile>/deps: look in target/onnxruntime too.
        for a in d.ancestors().skip(1).take(3) {
            dirs.push(a.join("onnxruntime"));
        }
    }
    // The workspace this crate was built in (development and tests).
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("onnxruntime"),
    );
    dirs
}

/// Finds the ONNX Runtime library: `explicit` > `$SIDEMAN_ORT_LIB` > beside the plugin binary or
/// executable > the project's `target/onnxruntime/`.
pub fn find_library(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    let mut searched = Vec::new();
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        searched.push(p.to_path_buf());
        return Err(RuntimeError::LibraryNotFound { searched });
    }
    if let Some(p) = std::env::var_os(ORT_LIB_ENV).filter(|s| !s.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        searched.push(p);
        return Err(RuntimeError::LibraryNotFound { searched });
    }
    for d in candidate_dirs() {
        let p = d.join(library_file_name());
        if p.is_file() {
            return Ok(p);
        }
        searched.push(p);
    }
    Err(RuntimeError::LibraryNotFound { searched })
}

/// The folder of the binary this code is linked into (the plugin's shared library inside a host).
#[cfg(unix)]
fn this_module_dir() -> Option<PathBuf> {
    use std::ffi::{CStr, c_char, c_int, c_void};
    #[repr(C)]
    struct DlInfo {
        dli_fname: *const c_char,
        dli_fbase: *mut c_void,
        dli_sname: *const c_char,
        dli_saddr: *mut c_void,
    }
    unsafe extern "C" {
        fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
    }
    let mut info = DlInfo {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: dladdr only reads the address and fills `info`; the name it returns points into the
    // loader's tables and is copied at once.
    let ok = unsafe { dladdr(this_module_dir as *const c_void, &mut info) };
    if ok == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated C string from the loader.
    let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_str().ok()?;
    let path = std::fs::canonicalize(name).ok()?;
    path.parent().map(Path::to_path_buf)
}

/// The folder of the DLL this code is linked into (the plugin's `.clap`/`.vst3` inside a host),
/// from the module handle that holds this function's address: not the host's executable.
#[cfg(windows)]
fn this_module_dir() -> Option<PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    use windows_sys::Win32::Foundation::HMODULE;
    use windows_sys::Win32::System::LibraryLoader::{
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, GetModuleFileNameW,
        GetModuleHandleExW,
    };
    let mut module: HMODULE = std::ptr::null_mut();
    // SAFETY: with FROM_ADDRESS the "name" is an address inside the module wanted (this function);
    // UNCHANGED_REFCOUNT leaves the module's reference count alone, so nothing needs freeing.
    let ok = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            this_module_dir as *const () as *const u16,
            &mut module,
        )
    };
    if ok == 0 || module.is_null() {
        return None;
    }
    // Long paths: grow the buffer while the name is truncated (the result fills it).
    let mut buf = vec![0u16; 1024];
    loop {
        // SAFETY: `module` is loaded (it holds this code); `buf` has `buf.len()` writable u16s.
        let n = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
        if n == 0 {
            return None;
        }
        if n < buf.len() {
            buf.truncate(n);
            break;
        }
        if buf.len() >= 1 << 15 {
            return None;
        }
        buf.resize(buf.len() * 2, 0);
    }
    let path = PathBuf::from(std::ffi::OsString::from_wide(&buf));
    path.parent().map(Path::to_path_buf)
}

#[cfg(not(any(unix, windows)))]
fn this_module_dir() -> Option<PathBuf> {
    None
}

/// Whether two folders are the same (by their canonical paths when both resolve).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

struct Loaded {
    path: PathBuf,
    env: ort::environment::Environment,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime once per process (later calls return the path already loaded, whatever
/// they ask for). Returns the library's path.
pub fn init(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    if let Some(l) = LOADED.get() {
        return Ok(l.path.clone());
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = LOADED.get() {
        return Ok(l.path.clone());
    }
    let path = find_library(explicit)?;
    let load = |reason: String| RuntimeError::Load {
        path: path.clone(),
        reason,
    };
    let env = ort::init_from(&path)
        .map_err(|e| load(e.to_string()))?
        .with_name("sideman")
        .build()
        .map_err(|e| load(e.to_string()))?;
    let _ = LOADED.set(Loaded {
        path: path.clone(),
        env,
    });
    Ok(path)
}

/// Whether a runtime library can be found (tests use it to skip with a message).
pub fn is_available() -> bool {
    init(None).is_ok()
}

/// The shape facts the runtime needs about a transformer graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformerSpec {
    /// Layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Longest context, in tokens.
    pub context_len: usize,
    /// Graph input and output names.
    pub io: OnnxIo,
}

/// Which file of a package to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// int8 when the package has it, else fp32.
    #[default]
    PreferInt8,
    /// fp32 when the package has it, else int8.
    PreferFp32,
}

/// A transformer running in ONNX Runtime, decoding batch 1 with a KV cache.
pub struct OnnxModel {
    session: Session,
    spec: TransformerSpec,
    /// Every token of the context.
    tokens: Vec<u32>,
    /// Per layer: (key, value) cache values, `[1, heads, cached, head_dim]` (primitive graphs).
    cache: Vec<(DynValue, DynValue)>,
    /// The bound in-place cache of a fused graph (then `cache` stays empty).
    in_place: Option<Box<InPlaceCache>>,
    /// Whether a pass over several tokens gives each the logits it gets alone (the kernel graph,
    /// [`layer_op`]): then pending tokens run in one pass.
    rows_independent: bool,
    /// Tokens covered by `cache` (a prefix of `tokens`).
    cached: usize,
    /// Logits after the last cached token, valid when `cached == tokens.len() > 0`.
    logits: Vec<f32>,
    input_names: Vec<String>,
    /// Context feature ids per token the graph takes ([`FEATURE_INPUT`]): 0 (none), 2, 3,
    /// [`STYLE_FEATURES`] or [`MAX_FEATURES`].
    features: usize,
    /// The feature state after the first `feat_len` tokens of the context (valid while
    /// `feat_len <= cached`; a rollback below it or a restore starts it over).
    feat_state: FeatureState,
    feat_len: usize,
}

/// What [`OnnxModel`] saves: the context, and per layer the cache's shape, keys and values.
struct SavedContext {
    tokens: Vec<u32>,
    cached: usize,
    logits: Vec<f32>,
    cache: Vec<SavedLayer>,
}

fn backend<E: std::fmt::Display>(e: E) -> ModelError {
    ModelError::Backend(e.to_string())
}

fn empty_cache(spec: &TransformerSpec) -> Result<Vec<(DynValue, DynValue)>, ModelError> {
    let shape = [1usize, spec.heads, 0, spec.head_dim];
    (0..spec.layers)
        .map(|_| {
            let k = Tensor::from_array((shape, Vec::<f32>::new()))
                .map_err(backend)?
                .into_dyn();
            let v = Tensor::from_array((shape, Vec::<f32>::new()))
                .map_err(backend)?
                .into_dyn();
            Ok((k, v))
        })
        .collect()
}

impl OnnxModel {
    /// Loads a package's transformer (int8 preferred by default), initialising the runtime from the
    /// default places if that has not happened yet.
    pub fn load(pkg: &Package, variant: Variant) -> Result<OnnxModel, RuntimeError> {
        let ModelKind::Transformer {
            fp32,
            int8,
            layers,
            heads,
            d_model,
            context_len,
            io,
        } = &pkg.manifest.model
        else {
            return Err(RuntimeError::NotTransformer(pkg.manifest.name.clone()));
        };
        let file = match variant {
            Variant::PreferInt8 => int8.as_ref().or(fp32.as_ref()),
            Variant::PreferFp32 => fp32.as_ref().or(int8.as_ref()),
        }
        .ok_or_else(|| RuntimeError::NotTransformer(pkg.manifest.name.clone()))?;
        let bytes = pkg.read(file)?;
        let heads = (*heads).max(1) as usize;
        let spec = TransformerSpec {
            layers: *layers as usize,
            heads,
            head_dim: *d_model as usize / heads,
            context_len: *context_len as usize,
            io: io.clone(),
        };
        OnnxModel::from_bytes(&bytes, spec)
    }

    /// A model from ONNX bytes.
    pub fn from_bytes(bytes: &[u8], spec: TransformerSpec) -> Result<OnnxModel, RuntimeError> {
        init(None)?;
        let env = &LOADED
            .get()
            .ok_or_else(|| RuntimeError::Session("runtime not initialised".into()))?
            .env;
        let s = |e: ort::Error| RuntimeError::Session(e.to_string());
        let sb = |e: ort::Error<ort::session::builder::SessionBuilder>| RuntimeError::Session(e.to_string());
        // ONNX Runtime registers a custom operator domain in a process-wide table, checking first
        // whether it is there: two sessions made at once with the `ai.sideman` domain can both see
        // it missing, and the second then fails ("the domain is already exist"). Sessions are
        // made one at a time (never on the audio thread: a generator or the trainer builds them).
        static SESSION_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = SESSION_BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let session = Session::builder(env)
            .map_err(s)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(sb)?
            .with_intra_threads(1)
            .map_err(sb)?
            .with_inter_threads(1)
            .map_err(sb)?
            .with_intra_op_spinning(false)
            .map_err(sb)?
            .with_inter_op_spinning(false)
            .map_err(sb)?
            .with_operators(layer_op::domain().map_err(s)?)
            .map_err(sb)?
            .commit_from_memory(bytes)
            .map_err(s)?;
        let input_names: Vec<String> = session.inputs().iter().map(|i| i.name().to_string()).collect();
        let mut want = vec![spec.io.input_ids.clone()];
        for i in 0..spec.layers {
            want.push(format!("{}{i}", spec.io.past_key));
            want.push(format!("{}{i}", spec.io.past_value));
        }
        for w in &want {
            if !input_names.contains(w) {
                return Err(RuntimeError::Session(format!("the graph has no input {w:?}")));
            }
        }
        let features = match session.inputs().iter().find(|i| i.name() == FEATURE_INPUT) {
            None => 0,
            Some(input) => match input.dtype() {
                ort::value::ValueType::Tensor { shape, .. } => feature_count(shape).ok_or_else(|| {
                    RuntimeError::Session(format!(
                        "{FEATURE_INPUT} has shape {shape:?}: this build reads 2, 3, {STYLE_FEATURES} or {MAX_FEATURES} features"
                    ))
                })?,
                other => {
                    return Err(RuntimeError::Session(format!(
                        "{FEATURE_INPUT} is {other:?}, not a tensor"
                    )));
                }
            },
        };
        let session_err = |e: ModelError| RuntimeError::Session(e.to_string());
        let (cache, in_place) = if input_names.iter().any(|n| n == SEQLENS_INPUT) {
            let c = InPlaceCache::new(&session, &spec, features).map_err(session_err)?;
            (Vec::new(), Some(Box::new(c)))
        } else {
            (empty_cache(&spec).map_err(session_err)?, None)
        };
        // The kernel graph imports the operators' domain (the only graph that does).
        let domain = layer_op::DOMAIN.as_bytes();
        let rows_independent = in_place.is_some() && bytes.windows(domain.len()).any(|w| w == domain);
        Ok(OnnxModel {
            rows_independent,
            features,
            feat_state: FeatureState::default(),
            feat_len: 0,
            in_place,
            session,
            spec,
            tokens: Vec::new(),
            cache,
            cached: 0,
            logits: Vec::new(),
            input_names,
        })
    }

    /// The graph's shape facts.
    pub fn spec(&self) -> &TransformerSpec {
        &self.spec
    }

    /// Whether the graph is the fused one, with its KV cache kept in place.
    pub fn is_fused(&self) -> bool {
        self.in_place.is_some()
    }

    /// The context.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Runs one token and rolls it back, so the first real call does not pay for ONNX Runtime's
    /// lazy set-up.
    pub fn warm_up(&mut self) -> Result<(), ModelError> {
        let len = self.len();
        let mut out = vec![0f32; VOCAB_SIZE as usize];
        if len == 0 {
            self.feed(&[crate::tokenizer::Vocab::id(crate::tokenizer::Token::Bos)])?;
            self.next_logits(&mut out)?;
            self.truncate(0);
        } else {
            self.next_logits(&mut out)?;
        }
        Ok(())
    }

    /// Appends `ids` and returns the logits of every one of them, row-major `[ids.len(), vocab]`
    /// (parity tests and evaluation).
    pub fn forward(&mut self, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        self.feed(ids)?;
        let rows = self.run_pending(usize::MAX)?;
        let v = VOCAB_SIZE as usize;
        Ok(rows[rows.len() - ids.len() * v..].to_vec())
    }

    /// Runs up to `chunk` of the tokens not yet in the cache in one pass; returns their logits.
    fn run_pending(&mut self, chunk: usize) -> Result<Vec<f32>, ModelError> {
        let n = (self.tokens.len() - self.cached).min(chunk.max(1));
        if n == 0 {
            return Ok(self.logits.clone());
        }
        let ids: Vec<i64> = self.tokens[self.cached..self.cached + n]
            .iter()
            .map(|&t| t as i64)
            .collect();
        let feats = self.features_of(n);
        let v = VOCAB_SIZE as usize;
        if let Some(c) = &mut self.in_place {
            let mut all = Vec::with_capacity(n * v);
            c.run(&mut self.session, &self.spec, self.cached, &ids, &feats, &mut all)?;
            self.cached += n;
            self.logits.clear();
            self.logits.extend_from_slice(&all[(n - 1) * v..]);
            return Ok(all);
        }
        let ids = Tensor::from_array(([1usize, n], ids)).map_err(backend)?;
        let io = &self.spec.io;
        let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> =
            Vec::with_capacity(2 + 2 * self.spec.layers);
        inputs.push((io.input_ids.clone(), ids.into()));
        if self.features > 0 {
            let feats = Tensor::from_array(([1usize, n, self.features], feats)).map_err(backend)?;
            inputs.push((FEATURE_INPUT.to_string(), feats.into()));
        }
        for (i, (k, v)) in self.cache.iter().enumerate() {
            inputs.push((format!("{}{i}", io.past_key), k.view().into()));
            inputs.push((format!("{}{i}", io.past_value), v.view().into()));
        }
        let mut out = self.session.run(inputs).map_err(backend)?;
        let (shape, logits) = out
            .get(&io.logits)
            .ok_or_else(|| backend("no logits output"))?
            .try_extract_tensor::<f32>()
            .map_err(backend)?;
        if shape.last().copied() != Some(v as i64) || logits.len() != n * v {
            return Err(backend(format!("logits shape {shape:?}, expected [1, {n}, {v}]")));
        }
        let all = logits.to_vec();
        let mut cache = Vec::with_capacity(self.spec.layers);
        for i in 0..self.spec.layers {
            let k = out
                .remove(format!("{}{i}", io.present_key))
                .ok_or_else(|| backend("missing present key"))?;
            let v = out
                .remove(format!("{}{i}", io.present_value))
                .ok_or_else(|| backend("missing present value"))?;
            cache.push((k, v));
        }
        drop(out);
        self.cache = cache;
        self.cached += n;
        self.logits = all[(n - 1) * v..].to_vec();
        Ok(all)
    }

    /// The context features of the next `n` tokens not yet cached, `features` per token (empty when
    /// the graph takes none). The state is carried from pass to pass, so a step reads one token,
    /// not the whole context; after a rollback below it, or a restore, it is read again from the
    /// start (a few hundred steps of a small state machine).
    fn features_of(&mut self, n: usize) -> Vec<i64> {
        if self.features == 0 {
            return Vec::new();
        }
        if self.feat_len > self.cached {
            self.feat_state = FeatureState::default();
            self.feat_len = 0;
        }
        for &t in &self.tokens[self.feat_len..self.cached] {
            self.feat_state.step(t);
        }
        let mut feats = Vec::with_capacity(n * self.features);
        for &t in &self.tokens[self.cached..self.cached + n] {
            let f = self.feat_state.step(t);
            feats.extend(f[..self.features].iter().map(|&x| x as i64));
        }
        self.feat_len = self.cached + n;
        feats
    }

    fn slice_cache(&mut self, len: usize) -> Result<(), ModelError> {
        let (h, hd) = (self.spec.heads, self.spec.head_dim);
        let cut = |t: &DynValue| -> Result<DynValue, ModelError> {
            let (shape, data) = t.try_extract_tensor::<f32>().map_err(backend)?;
            let past = shape.get(2).copied().unwrap_or(0) as usize;
            let mut out = Vec::with_capacity(h * len * hd);
            for head in 0..h {
                let start = head * past * hd;
                out.extend_from_slice(&data[start..start + len * hd]);
            }
            Ok(Tensor::from_array(([1usize, h, len, hd], out))
                .map_err(backend)?
                .into_dyn())
        };
        let mut next = Vec::with_capacity(self.cache.len());
        for (k, v) in &self.cache {
            next.push((cut(k)?, cut(v)?));
        }
        self.cache = next;
        self.cached = len;
        Ok(())
    }

    /// Names of the graph's inputs.
    pub fn input_names(&self) -> &[String] {
        &self.input_names
    }
}

impl TokenModel for OnnxModel {
    fn feed(&mut self, ids: &[u32]) -> Result<(), ModelError> {
        if let Some(&bad) = ids.iter().find(|&&i| i >= VOCAB_SIZE) {
            return Err(ModelError::BadToken(bad));
        }
        if self.tokens.len() + ids.len() > self.spec.context_len {
            return Err(ModelError::ContextFull(self.spec.context_len));
        }
        self.tokens.extend_from_slice(ids);
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        if len >= self.tokens.len() {
            return;
        }
        self.tokens.truncate(len);
        // Keep the cache up to the token before the new end; the last token is re-run on demand so
        // its logits come back.
        let keep = self.cached.min(len.saturating_sub(1));
        if self.in_place.is_some() {
            // The rows past `keep` are simply overwritten by the next pass.
            self.cached = keep;
            return;
        }
        if keep < self.cached {
            let ok = if keep == 0 {
                empty_cache(&self.spec).map(|c| {
                    self.cache = c;
                    self.cached = 0;
                })
            } else {
                self.slice_cache(keep)
            };
            if ok.is_err() {
                // Could not slice: start over from nothing (the next call re-runs the context).
                if let Ok(c) = empty_cache(&self.spec) {
                    self.cache = c;
                }
                self.cached = 0;
            }
        }
    }

    fn len(&self) -> usize {
        self.tokens.len()
    }

    /// A copy of the KV cache (a few hundred kB for the shipped models): restoring it costs a
    /// copy, where re-feeding the context costs one pass of the network per token.
    fn save(&self) -> Option<ModelState> {
        if let Some(c) = &self.in_place {
            return Some(ModelState::new(SavedContext {
                tokens: self.tokens.clone(),
                cached: self.cached,
                logits: self.logits.clone(),
                cache: c.save(self.cached),
            }));
        }
        let mut cache = Vec::with_capacity(self.cache.len());
        for (k, v) in &self.cache {
            let (shape, keys) = k.try_extract_tensor::<f32>().ok()?;
            let (_, values) = v.try_extract_tensor::<f32>().ok()?;
            let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            let dims: [usize; 4] = dims.try_into().ok()?;
            cache.push((dims, keys.to_vec(), values.to_vec()));
        }
        Some(ModelState::new(SavedContext {
            tokens: self.tokens.clone(),
            cached: self.cached,
            logits: self.logits.clone(),
            cache,
        }))
    }

    fn restore(&mut self, state: &ModelState) -> bool {
        let Some(saved) = state.get::<SavedContext>() else {
            return false;
        };
        if let Some(c) = &mut self.in_place {
            if !c.restore(&saved.cache) {
                return false;
            }
            self.tokens.clone_from(&saved.tokens);
            self.feat_len = usize::MAX;
            self.cached = saved.cached;
            self.logits.clone_from(&saved.logits);
            return true;
        }
        let tensor = |dims: [usize; 4], data: &[f32]| Tensor::from_array((dims, data.to_vec())).map(|t| t.into_dyn());
        let mut cache = Vec::with_capacity(saved.cache.len());
        for (dims, keys, values) in &saved.cache {
            match (tensor(*dims, keys), tensor(*dims, values)) {
                (Ok(k), Ok(v)) => cache.push((k, v)),
                _ => return false,
            }
        }
        self.tokens.clone_from(&saved.tokens);
        self.feat_len = usize::MAX;
        self.cached = saved.cached;
        self.logits.clone_from(&saved.logits);
        self.cache = cache;
        true
    }

    fn next_logits(&mut self, out: &mut [f32]) -> Result<(), ModelError> {
        if self.tokens.is_empty() {
            return Err(ModelError::Empty);
        }
        // A token's logits and cache must never depend on how the context was fed (a prefill, a
        // rollback's re-run, a step), so that a rolled-back live session and an offline render
        // sample the same notes. Sideman's own operators compute each row alone, so a kernel
        // graph runs everything pending in one pass; in other graphs int8 dynamic quantisation
        // (one activation scale per pass) and blocked matmuls would make the difference visible,
        // so they run one token per pass.
        let chunk = if self.rows_independent { usize::MAX } else { 1 };
        while self.cached < self.tokens.len() {
            self.run_pending(chunk)?;
        }
        let v = VOCAB_SIZE as usize;
        if out.len() < v {
            return Err(backend(format!("output buffer holds {} < {v} logits", out.len())));
        }
        out[..v].copy_from_slice(&self.logits);
        Ok(())
    }

    fn context_len(&self) -> usize {
        self.spec.context_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code linked into an executable (this test binary) has the executable's folder as its module
    /// folder, so that folder is searched; inside a plugin it would be the plugin's folder instead.
    #[test]
    fn code_in_an_executable_searches_the_executable_folder() {
        let exe = std::env::current_exe().unwrap();
        let exe_dir = exe.parent().unwrap();
        if let Some(d) = this_module_dir() {
            assert!(
                same_dir(&d, exe_dir),
                "module folder {} for {}",
                d.display(),
                exe.display()
            );
        }
        assert!(
            candidate_dirs().iter().any(|d| same_dir(d, exe_dir)),
            "{} not searched",
            exe_dir.display()
        );
    }
}
