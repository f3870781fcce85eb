//! The interface every token model implements: the Markov baseline and the ONNX transformer alike,
//! so that the plugin engine and `trainer generate` drive both through one code path.

/// Why a model could not score or accept tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The context would exceed what the model supports; re-prime with a shorter prefix.
    #[error("context full ({0} tokens)")]
    ContextFull(usize),
    /// A token id outside the vocabulary.
    #[error("token id {0} is outside the vocabulary")]
    BadToken(u32),
    /// The model has no context yet, so there is nothing to predict from.
    #[error("no context fed yet")]
    Empty,
    /// The backend failed (ONNX Runtime error text, or similar).
    #[error("model backend failed: {0}")]
    Backend(String),
}

/// A saved context: the tokens and whatever cache a model keeps, so that a session can go back to
/// it without feeding the tokens again (a rollback to before a re-prime). Opaque; only the model
/// that saved it reads it.
#[derive(Clone)]
pub struct ModelState(std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl ModelState {
    /// Wraps a model's own state.
    pub fn new<T: std::any::Any + Send + Sync>(state: T) -> ModelState {
        ModelState(std::sync::Arc::new(state))
    }

    /// The state, if it is a `T`.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for ModelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelState")
    }
}

/// A model that scores the next token given everything fed so far.
///
/// Implementations keep their own incremental state (a KV cache, a Markov context) and support
/// truncation, which is how the runtime rolls back to a beat and regenerates.
pub trait TokenModel: Send {
    /// Appends tokens to the context: a prefill of many, or one step.
    fn feed(&mut self, ids: &[u32]) -> Result<(), ModelError>;
    /// Truncates the context to its first `len` tokens (no-op if it is not longer).
    fn truncate(&mut self, len: usize);
    /// Number of tokens in the context.
    fn len(&self) -> usize;
    /// True when no token has been fed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes the unnormalised log-probabilities (logits) of the next token into `out`, which
    /// holds [`crate::tokenizer::VOCAB_SIZE`] entries.
    fn next_logits(&mut self, out: &mut [f32]) -> Result<(), ModelError>;
    /// Longest context the model accepts, in tokens.
    fn context_len(&self) -> usize;
    /// Saves the context for [`TokenModel::restore`]; `None` when re-feeding is as cheap.
    fn save(&self) -> Option<ModelState> {
        None
    }
    /// Goes back to a context [`TokenModel::save`] saved; false (and nothing changed) when the
    /// state is not this model's.
    fn restore(&mut self, _state: &ModelState) -> bool {
        false
    }
}
