//! Model loading on the worker thread: the reference asked for (parameter or environment), the
//! role's built-in default when none is, and the fallbacks (a path that is gone plays the
//! default; a neural model without ONNX Runtime plays the Markov model), each said in the status.

use std::sync::atomic::Ordering;

use models::Role;
use models::assets;
use models::groove::FillPlan;
use models::runtime::RuntimeError;
use models::sampling::Constraints;

use super::generator::{LoadError, load_model};
use super::{COMMIT_MARGIN_MS, DEFAULT_MODEL_ENV, NEURAL_REGEN_GUESS_MS, Worker};
use crate::channels::{EngineState, RuntimeState};

impl Worker {
    /// Loads the model when the reference (or, for the default, the role) changed.
    pub(super) fn check_model(&mut self) -> bool {
        let mut asked = self.params.model_path().trim().to_string();
        if asked.is_empty()
            && let Ok(p) = std::env::var(DEFAULT_MODEL_ENV)
        {
            asked = p.trim().to_string();
        }
        let role = self.params.role.value().role();
        let key = (asked.clone(), if asked.is_empty() { role } else { Role::Lead });
        if self.model_key.as_ref() == Some(&key) {
            return false;
        }
        self.model_key = Some(key);
        self.generator = None;
        self.status.set_state(EngineState::Loading);
        self.status.set_notice(String::new());
        let default = assets::default_for(role);
        let mut reference = if asked.is_empty() {
            default.clone()
        } else {
            asked.clone()
        };
        let mut notice = String::new();
        let mut runtime_error = None;
        let loaded = loop {
            match load_model(&reference) {
                Ok(m) => break Ok(m),
                Err(err) => {
                    // The error and its causes ("cannot read …: No such file or directory").
                    let e = models::error::chain(&err);
                    let fallback = if matches!(
                        err,
                        LoadError::Runtime(RuntimeError::LibraryNotFound { .. } | RuntimeError::Load { .. })
                    ) {
                        notice = format!("neural model unavailable, playing the Markov fallback: {e}");
                        runtime_error = Some(e.clone());
                        assets::fallback()
                    } else if reference != default {
                        notice = format!("model {reference} could not be loaded ({e}); playing the default");
                        default.clone()
                    } else {
                        break Err(format!("model {reference}: {e}"));
                    };
                    if fallback == reference {
                        break Err(format!("model {reference}: {e}"));
                    }
                    reference = fallback;
                }
            }
        };
        match loaded {
            Ok(m) => {
                let neural = matches!(m.manifest.model, models::package::ModelKind::Transformer { .. });
                self.report_runtime(neural, runtime_error);
                self.status.set_model_ref(reference.clone());
                self.microtiming = m.manifest.microtiming;
                self.given_kind = m.manifest.given_kind;
                self.styles_known = m.manifest.vocab.styles.len();
                self.players = m.manifest.players.clone().map(|p| (m.manifest.vocab.clone(), p));
                self.player_phrasing = Role::ALL.map(|r| {
                    let names = m.manifest.phrasing_players(r);
                    names.iter().map(|&p| m.manifest.phrasing_of(r, Some(p))).collect()
                });
                self.fill_plan = FillPlan::new(&m.manifest.vocab, 0);
                self.keep_bars = m.manifest.keep_bars();
                self.learned_meters = Role::ALL.map(|r| m.manifest.learned_meters(r));
                self.hears_input = Role::ALL.map(|r| m.manifest.hears_input(r));
                self.hears_chords = Role::ALL.map(|r| m.manifest.hears_chords(r));
                self.opening = m.manifest.opening_slot();
                self.note_temperature = Role::ALL.map(|r| m.manifest.note_temperature(r));
                self.note_top_p = Role::ALL.map(|r| m.manifest.note_top_p(r));
                self.calibrated = Role::ALL.map(|r| m.manifest.constraints_for(r, Constraints::for_role(r)));
                self.status.set_registers(&Role::ALL.map(|r| m.manifest.register(r)));
                self.regen_ms = if neural {
                    NEURAL_REGEN_GUESS_MS
                } else {
                    COMMIT_MARGIN_MS
                };
                self.status
                    .commit_margin_ms_bits
                    .store(self.regen_ms.to_bits(), Ordering::Release);
                self.status.set_model_name(m.label.clone());
                self.generator = Some(m.generator);
                self.status.set_notice(notice);
                self.status.clear_error();
                self.status.set_state(EngineState::Ready);
                if self.playing {
                    self.restart_pending = true;
                }
            }
            Err(e) => {
                self.report_runtime(false, runtime_error);
                self.status.set_model_name(String::new());
                self.status.set_model_ref(String::new());
                self.status.fail(e);
            }
        }
        self.log(|| {
            format!(
                "model {reference:?}: {:?} {} {}",
                self.status.state(),
                self.status.notice(),
                self.status.last_error()
            )
        });
        true
    }

    /// Tells the editor whether ONNX Runtime is there: loaded (a neural model plays), refused
    /// (`error`), or, when only the Markov model was asked for, whether it could be found.
    fn report_runtime(&self, neural: bool, error: Option<String>) {
        use models::runtime;
        let (state, detail) = match error {
            Some(e) => (RuntimeState::Missing, e),
            None if neural => match runtime::init(None) {
                Ok(p) => (RuntimeState::Found, p.display().to_string()),
                Err(e) => (RuntimeState::Missing, e.to_string()),
            },
            None => match runtime::find_library(None) {
                Ok(p) => (RuntimeState::Found, p.display().to_string()),
                Err(e) => (RuntimeState::Missing, e.to_string()),
            },
        };
        // The editor's status words, for hosts without a GUI (scripts/test-windows.sh reads them).
        self.log(|| match state {
            RuntimeState::Found => format!("ONNX Runtime: found ({detail})"),
            _ => format!("ONNX Runtime: missing ({detail})"),
        });
        self.status.set_runtime(state, detail);
    }
}
