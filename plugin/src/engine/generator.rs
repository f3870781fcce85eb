//! The [`Generator`] trait the worker drives, its implementation over any
//! [`TokenModel`](models::model::TokenModel), and model loading: a Markov package gets a
//! [`MarkovModel`] per session over one shared table; a transformer package gets one
//! [`OnnxModel`] (ONNX Runtime found beside the plugin binary, see `models::runtime`), built once
//! on the worker thread and reused by every session.

use std::sync::Arc;

use models::generate::{Conditioning, GenerateError, GeneratedNote, Session, SessionConfig};
use models::markov::{MarkovModel, MarkovTable};
use models::model::{ModelError, TokenModel};
use models::package::{Manifest, ModelKind, Package};
use models::runtime::{OnnxModel, Variant};
use models::sampling::{Constraints, SamplerConfig};

/// What the worker needs from a generator. Implemented for every token model through
/// [`TokenGenerator`]; the ONNX model plugs in the same way.
pub trait Generator: Send {
    /// Starts over at `origin` (a bar line, in ticks) with `config`.
    fn restart(&mut self, config: SessionConfig, origin: i64, cond: &Conditioning) -> Result<(), GenerateError>;
    /// Whether a session is running.
    fn is_running(&self) -> bool;
    /// Stops the session.
    fn stop(&mut self);
    /// Discards the stream from `tick`; false if it cannot reach back that far.
    fn rollback(&mut self, tick: i64) -> bool;
    /// Tick of the last written group (given events at or before it need a rollback).
    fn written_through(&self) -> i64;
    /// Tick where the current stream starts.
    fn origin(&self) -> i64;
    /// Generates until every note starting before `tick` exists.
    fn generate_until(&mut self, cond: &Conditioning, tick: i64) -> Result<(), GenerateError>;
    /// Moves final notes not yet taken into `out`.
    fn drain_notes(&mut self, out: &mut Vec<GeneratedNote>);
    /// Changes sampling settings for the tokens still to come.
    fn set_sampling(&mut self, sampler: SamplerConfig, constraints: Constraints);
    /// The session's settings, if running.
    fn config(&self) -> Option<&SessionConfig>;
    /// Tokens the model sampled so far: rises while a session generates (it may start over at
    /// a restart; callers take differences within one session).
    fn tokens_sampled(&self) -> u64;
}

/// A token model that counts its next-token computations (one per sampled token).
pub struct Counted<M: TokenModel> {
    model: M,
    steps: u64,
}

impl<M: TokenModel> Counted<M> {
    fn new(model: M) -> Self {
        Counted { model, steps: 0 }
    }
}

impl<M: TokenModel> TokenModel for Counted<M> {
    fn feed(&mut self, ids: &[u32]) -> Result<(), ModelError> {
        self.model.feed(ids)
    }

    fn truncate(&mut self, len: usize) {
        self.model.truncate(len);
    }

    fn len(&self) -> usize {
        self.model.len()
    }

    fn next_logits(&mut self, out: &mut [f32]) -> Result<(), ModelError> {
        self.steps += 1;
        self.model.next_logits(out)
    }

    fn context_len(&self) -> usize {
        self.model.context_len()
    }

    fn save(&self) -> Option<models::model::ModelState> {
        self.model.save()
    }

    fn restore(&mut self, state: &models::model::ModelState) -> bool {
        self.model.restore(state)
    }
}

/// Makes a model when a generator has none (Markov: a new context over the shared table).
pub type MakeModel<M> = Box<dyn Fn() -> Result<M, ModelError> + Send>;

/// A [`Generator`] over a token model. The model is made once (or given) and reused by every
/// session, truncated to nothing at each restart, so an ONNX session is built only once.
pub struct TokenGenerator<M: TokenModel> {
    make: MakeModel<M>,
    spare: Option<Counted<M>>,
    session: Option<Session<Counted<M>>>,
}

impl<M: TokenModel> TokenGenerator<M> {
    /// A generator making its model with `make` when it needs one.
    pub fn new(make: MakeModel<M>) -> Self {
        TokenGenerator {
            make,
            spare: None,
            session: None,
        }
    }

    /// A generator over an already loaded model that cannot be made again.
    pub fn with_model(model: M) -> Self {
        let make: MakeModel<M> = Box::new(|| {
            Err(ModelError::Backend(
                "the model was lost after an error; reload it".into(),
            ))
        });
        TokenGenerator {
            make,
            spare: Some(Counted::new(model)),
            session: None,
        }
    }
}

impl<M: TokenModel> Generator for TokenGenerator<M> {
    fn restart(&mut self, config: SessionConfig, origin: i64, cond: &Conditioning) -> Result<(), GenerateError> {
        let model = match self.session.take() {
            Some(s) => s.into_model(),
            None => match self.spare.take() {
                Some(m) => m,
                None => Counted::new((self.make)()?),
            },
        };
        // Session::new truncates the model's context: sessions stay independent.
        self.session = Some(Session::new(model, config, origin, cond)?);
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.session.is_some()
    }

    fn stop(&mut self) {
        if let Some(s) = self.session.take() {
            self.spare = Some(s.into_model());
        }
    }

    fn rollback(&mut self, tick: i64) -> bool {
        self.session.as_mut().is_some_and(|s| s.rollback(tick))
    }

    fn written_through(&self) -> i64 {
        self.session.as_ref().map_or(i64::MIN, |s| s.written_through())
    }

    fn origin(&self) -> i64 {
        self.session.as_ref().map_or(0, |s| s.origin())
    }

    fn generate_until(&mut self, cond: &Conditioning, tick: i64) -> Result<(), GenerateError> {
        match self.session.as_mut() {
            Some(s) => s.generate_until(cond, tick),
            None => Ok(()),
        }
    }

    fn drain_notes(&mut self, out: &mut Vec<GeneratedNote>) {
        if let Some(s) = self.session.as_mut() {
            s.drain_notes(out);
        }
    }

    fn set_sampling(&mut self, sampler: SamplerConfig, constraints: Constraints) {
        if let Some(s) = self.session.as_mut() {
            s.set_sampling(sampler, constraints);
        }
    }

    fn config(&self) -> Option<&SessionConfig> {
        self.session.as_ref().map(|s| s.config())
    }

    fn tokens_sampled(&self) -> u64 {
        match (&self.session, &self.spare) {
            (Some(s), _) => s.model().steps,
            (None, Some(m)) => m.steps,
            (None, None) => 0,
        }
    }
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The package is missing, damaged or for another tokenizer.
    #[error(transparent)]
    Package(#[from] models::package::PackageError),
    /// The Markov file is invalid.
    #[error(transparent)]
    Markov(#[from] models::markov::MarkovError),
    /// The ONNX Runtime library is missing or refused the model.
    #[error(transparent)]
    Runtime(#[from] models::runtime::RuntimeError),
}

/// A loaded model: the generator and its manifest.
pub struct LoadedModel {
    /// What the user sees: the package name and the variant running ("Jazz lead (int8)").
    pub label: String,
    /// The generator.
    pub generator: Box<dyn Generator>,
    /// The package manifest.
    pub manifest: Manifest,
}

/// Loads the model package named by `reference` (a folder path or `builtin:<id>`; worker thread:
/// file I/O, ONNX Runtime session building and warm-up).
pub fn load_model(reference: &str) -> Result<LoadedModel, LoadError> {
    let pkg = Package::open(reference)?;
    match &pkg.manifest.model {
        ModelKind::Markov { file, .. } => {
            let table = Arc::new(MarkovTable::from_bytes(&pkg.read(file)?)?);
            let generator: Box<dyn Generator> = Box::new(TokenGenerator::new(Box::new(move || {
                Ok(MarkovModel::new(table.clone()))
            })));
            Ok(LoadedModel {
                label: pkg.manifest.name.clone(),
                generator,
                manifest: pkg.manifest,
            })
        }
        ModelKind::Transformer { int8, .. } => {
            let variant = Variant::default();
            let label = format!(
                "{} ({})",
                pkg.manifest.name,
                if int8.is_some() { "int8" } else { "fp32" }
            );
            let mut model = OnnxModel::load(&pkg, variant)?;
            // The first run allocates and optimises: do it here, not on the first note.
            model
                .warm_up()
                .map_err(|e| models::runtime::RuntimeError::Session(e.to_string()))?;
            let generator: Box<dyn Generator> = Box::new(TokenGenerator::with_model(model));
            Ok(LoadedModel {
                label,
                generator,
                manifest: pkg.manifest,
            })
        }
    }
}
