//! The editor: an egui window (nice-plug-egui) that shows what Sideman is doing and lets the
//! user steer it.
//!
//! - **Reads snapshots only.** The status line reads [`SharedStatus`] atomics (and the
//!   worker's strings, which the audio thread never touches); the piano roll copies what is new
//!   in the worker's roll log ([`crate::channels::RollFeed`]) each frame. Nothing here waits on
//!   the audio thread or touches the scheduler.
//! - **Steers through the host.** Every control is a parameter changed through `ParamSetter`
//!   with begin/set/end gestures, so the host records, undoes and automates it. The model choice
//!   is the persisted `model-path` the worker polls; the editor's own settings (window size,
//!   seed lock, export folder) persist in [`EditorPrefs`].
//! - **Files.** "Export MIDI" and "Keep / Discard" write small files on the GUI thread
//!   ([`export`]); folder choosers run on their own thread (`rfd`, the XDG portal on Linux), with
//!   a text field as the fallback.
//!
//! [`roll`] and [`export`] hold the logic without egui types, tested headless; this module
//! is the drawing.

pub mod catalog;
pub mod export;
mod picker;
pub mod roll;
mod roll_view;
mod session;
mod sound;
mod widgets;
mod window;

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use egui::{
    Align2, Color32, ComboBox, CornerRadius, FontId, Margin, Pos2, Rect, Response, RichText, Sense, Shape, Stroke,
    StrokeKind, Ui, pos2, vec2,
};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::{LogicalSize, NativeSize, Size};
use nice_plug::editor::{HostMethods, SpawnedEditor};
use nice_plug::plugin::TrackInfo;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    EguiEditor, EguiEditorHandle, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier, create_egui_editor,
};

use crate::channels::{EngineState, RollEvent, RuntimeState, SharedStatus};
use crate::params::{EDITOR_MAX_SIZE, EDITOR_MIN_SIZE, EditorPrefs, ModeParam, RoleParam, SidemanParams};
use catalog::{Catalog, ModelInfo};
use export::{ExportOptions, FeedbackRecord, FeedbackSettings, PHRASE_BARS, Verdict};
use roll::{DRUM_LANES, Lanes, PixelRect, RollGeometry, RollModel, RollNote};
use widgets::{KNOB_PITCH, bool_toggle, drag_gesture, enum_combo, group, int_drag, knob, set_once};

/// Colour of the user's notes and chords.
pub const INPUT_COLOUR: Color32 = Color32::from_rgb(0x4F, 0xC3, 0xF7);
/// Colour of generated notes.
pub const GENERATED_COLOUR: Color32 = Color32::from_rgb(0xFF, 0xA7, 0x26);
/// Colour of rollback boundaries.
pub const ROLLBACK_COLOUR: Color32 = Color32::from_rgb(0xF0, 0x62, 0x92);
/// Colour of the playhead.
pub const PLAYHEAD_COLOUR: Color32 = Color32::from_rgb(0xF5, 0xF5, 0xF5);
/// Background of the roll.
const ROLL_BG: Color32 = Color32::from_rgb(0x1B, 0x1E, 0x24);
/// Background of the look-ahead part of the roll.
const AHEAD_BG: Color32 = Color32::from_rgb(0x23, 0x27, 0x30);
/// Frame rate of the editor while the transport plays (the roll scrolls).
pub const PLAYING_FPS: f32 = 30.0;
/// How often the editor refreshes its status while stopped.
pub const IDLE_REFRESH_MS: u64 = 250;
/// Least height of the piano roll, logical pixels: below it the controls scroll instead.
const ROLL_MIN_HEIGHT: f32 = 140.0;
/// Least height of the controls' scrolling area, logical pixels (a row of groups).
const CONTROLS_MIN_HEIGHT: f32 = 100.0;
/// How long a message under the controls stays.
const TOAST_SECS: u64 = 8;

/// Settings of the egui window.
fn window_settings() -> EguiNiceSettings {
    let min = LogicalSize::new(EDITOR_MIN_SIZE.0 as f32, EDITOR_MIN_SIZE.1 as f32);
    let max = LogicalSize::new(EDITOR_MAX_SIZE.0 as f32, EDITOR_MAX_SIZE.1 as f32);
    EguiNiceSettings::new()
        .with_tile("Sideman")
        .with_resize_hint(ResizeHint::resizable().with_min_max_logical_size(Some(min), Some(max)))
}

/// The plugin's [`Editor`]: opens an egui window at the size saved with the project.
///
/// nice-plug asks for the editor once, before the project's state is loaded, so the window
/// (with its size) is made when the host opens it, from [`EditorPrefs`] as they are then.
pub struct SidemanEditor {
    /// The plugin's parameters (shared with the host, the audio thread and the worker).
    params: Arc<SidemanParams>,
    /// The status the worker and the audio thread write.
    status: Arc<SharedStatus>,
    /// The editor of the window last opened, with its state (main thread).
    current: Mutex<Option<(Arc<EguiEditorState>, EguiEditor<SidemanApp>)>>,
}

impl SidemanEditor {
    /// An editor over the plugin's parameters and status.
    pub fn new(params: Arc<SidemanParams>, status: Arc<SharedStatus>) -> Self {
        SidemanEditor {
            params,
            status,
            current: Mutex::new(None),
        }
    }
}

impl Editor for SidemanEditor {
    type Handle = EguiEditorHandle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: GuiContext,
        host: Option<HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        let (w, h) = self.params.editor_prefs().size();
        let state = EguiEditorState::from_size(LogicalSize::new(w as f64, h as f64), 1.0);
        let app = SidemanApp::new(self.params.clone(), self.status.clone());
        let editor = create_egui_editor(state.clone(), RepaintNotifier::new(), window_settings(), app)
            .ok_or("nice-plug-egui made no editor")?;
        let spawned = editor.spawn(parent, wait_for_parent, fallback_scale_factor, gui_context, host)?;
        if let Ok(mut current) = self.current.lock() {
            *current = Some((state, editor));
        }
        Ok(spawned)
    }

    fn size(&self) -> NativeSize<u32> {
        let mut scale = 1.0;
        if let Ok(current) = self.current.lock()
            && let Some((state, editor)) = current.as_ref()
        {
            if state.is_open() {
                return editor.size();
            }
            // Closed: the saved size (a project may have been loaded since), at the last scale.
            let (logical, physical) = (state.logical_size(), state.physical_size());
            if logical.width > 0.0 {
                scale = physical.width as f64 / logical.width as f64;
            }
        }
        let (w, h) = self.params.editor_prefs().size();
        NativeSize::from_size(Size::Logical(LogicalSize::new(w as f64, h as f64)), scale)
    }

    fn resize_hint(&self) -> ResizeHint {
        window_settings().resize_hint
    }

    fn track_info_updated(&self, info: TrackInfo) {
        if let Ok(current) = self.current.lock()
            && let Some((_, editor)) = current.as_ref()
        {
            editor.track_info_updated(info);
        }
    }
}

/// What a folder chooser running on its own thread is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogPurpose {
    LoadModel,
    ExportFolder,
}

/// A message shown under the controls for a while.
struct Toast {
    /// What happened, in words.
    text: String,
    /// Whether it went wrong (red) or right (green).
    error: bool,
    /// When it goes away.
    until: Instant,
}

/// The editor's state while its window is open. Every field is the window thread's own.
pub struct SidemanApp {
    /// The plugin's parameters.
    params: Arc<SidemanParams>,
    /// The status the worker and the audio thread write (read only here).
    status: Arc<SharedStatus>,
    /// The host connection for parameter gestures (set in `build`).
    gui: Option<GuiContext>,
    /// What the roll shows, rebuilt from the worker's log.
    roll: RollModel,
    /// Number of the last roll event applied.
    roll_seen: u64,
    /// Events copied from the log this frame (allocated once).
    roll_buf: Vec<RollEvent>,
    /// The models the picker offers, with their cards.
    catalog: Catalog,
    /// A folder chooser running on its own thread.
    dialog: Option<(DialogPurpose, mpsc::Receiver<Option<PathBuf>>)>,
    /// The model path typed in the model picker.
    path_text: String,
    /// The export folder as typed.
    export_dir_text: String,
    toast: Option<Toast>,
    /// The Panic button's pulse in progress.
    panic: session::PanicPulse,
}

impl SidemanApp {
    fn new(params: Arc<SidemanParams>, status: Arc<SharedStatus>) -> Self {
        let prefs = params.editor_prefs();
        SidemanApp {
            params,
            status,
            gui: None,
            roll: RollModel::default(),
            roll_seen: 0,
            roll_buf: Vec::with_capacity(crate::channels::ROLL_LOG_CAPACITY),
            catalog: Catalog::new(),
            dialog: None,
            path_text: String::new(),
            export_dir_text: if prefs.export_dir.is_empty() {
                export::DEFAULT_EXPORT_DIR.to_string()
            } else {
                prefs.export_dir
            },
            toast: None,
            panic: session::PanicPulse::default(),
        }
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.toast = Some(Toast {
            text: text.into(),
            error,
            until: Instant::now() + Duration::from_secs(TOAST_SECS),
        });
    }

    /// Copies what is new in the worker's roll log into the roll.
    fn pull_roll(&mut self) {
        self.roll_buf.clear();
        let (seen, lost) = self.status.roll.read_since(self.roll_seen, &mut self.roll_buf);
        if lost {
            self.roll = RollModel::default();
        }
        for e in &self.roll_buf {
            self.roll.apply(e);
        }
        self.roll_seen = seen;
        self.roll.prune(self.status.playhead());
    }

    /// Sets the model reference the worker loads ("" = the role's default).
    fn choose_model(&mut self, reference: &str) {
        let reference = reference.trim().to_string();
        if !reference.is_empty()
            && !reference.starts_with(models::package::BUILTIN_PREFIX)
            && let Err(e) = self.catalog.info(&reference)
        {
            self.say(format!("Not a model package: {e}"), true);
            return;
        }
        self.params.set_model_path(&reference);
        if !reference.is_empty() {
            self.catalog.remember(&reference);
        }
    }

    fn open_dialog(&mut self, purpose: DialogPurpose) {
        if self.dialog.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let start = match purpose {
            DialogPurpose::LoadModel => None,
            DialogPurpose::ExportFolder => Some(export::expand_home(&self.export_dir_text)),
        };
        let spawned = std::thread::Builder::new()
            .name("sideman-dialog".into())
            .spawn(move || {
                let mut d = rfd::FileDialog::new().set_title(match purpose {
                    DialogPurpose::LoadModel => "Load a Sideman model package (its folder)",
                    DialogPurpose::ExportFolder => "Folder for exported MIDI files",
                });
                if let Some(s) = start.filter(|s| s.is_dir()) {
                    d = d.set_directory(s);
                }
                let _ = tx.send(d.pick_folder());
            });
        match spawned {
            Ok(_) => self.dialog = Some((purpose, rx)),
            Err(e) => self.say(
                format!("cannot open a folder chooser: {e}; type the path instead"),
                true,
            ),
        }
    }

    fn poll_dialog(&mut self) {
        let Some((purpose, rx)) = self.dialog.as_ref() else {
            return;
        };
        let purpose = *purpose;
        match rx.try_recv() {
            Ok(choice) => {
                self.dialog = None;
                if let Some(p) = choice {
                    let p = p.display().to_string();
                    match purpose {
                        DialogPurpose::LoadModel => self.choose_model(&p),
                        DialogPurpose::ExportFolder => {
                            self.export_dir_text = p.clone();
                            self.params.update_editor_prefs(|e| e.export_dir = p);
                        }
                    }
                }
            }
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => {
                self.dialog = None;
                self.say(
                    "no folder chooser is available here (no desktop portal or zenity); type the path instead",
                    true,
                );
            }
        }
    }

    /// Model packages dropped on the window (where the windowing layer delivers drops).
    fn take_drops(&mut self, ui: &Ui) {
        let dropped: Vec<PathBuf> = ui.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(p) = dropped.first() {
            let p = p.display().to_string();
            self.choose_model(&p);
        }
    }

    fn export_options(&self, include_input: bool) -> ExportOptions {
        let p = &self.params;
        ExportOptions {
            tempo_bpm: self.status.tempo(),
            numerator: self.roll.numerator,
            denominator: self.roll.denominator,
            role: p.role.value().role(),
            channel: crate::params::channel_index(p.channel.value()),
            include_input,
        }
    }

    fn export_midi(&mut self) {
        let prefs = self.params.editor_prefs();
        let dir = export::expand_home(&self.export_dir_text);
        let ex = export::excerpt(&self.roll, self.status.playhead(), prefs.export_bars);
        let opts = self.export_options(prefs.export_input);
        match export::write_export(&ex, &opts, &dir, unix_now()) {
            Ok(path) => self.say(
                format!("Exported {} bars to {}: drag it onto a track", ex.bars, path.display()),
                false,
            ),
            Err(e) => self.say(models::error::chain(&e), true),
        }
    }

    fn judge_phrase(&mut self, verdict: Verdict) {
        let p = &self.params;
        let ex = export::excerpt(&self.roll, self.status.playhead(), PHRASE_BARS);
        let model_ref = self.status.model_ref();
        let style = p.style.value();
        let style_name = self
            .catalog
            .info(&model_ref)
            .ok()
            .and_then(|m| m.styles.get((style - 1).max(0) as usize).cloned())
            .filter(|_| style > 0);
        let settings = FeedbackSettings {
            role: p.role.value().role(),
            style,
            style_name,
            seed: p.seed.value(),
            temperature: p.temperature.value(),
            top_k: p.top_k.value(),
            top_p: p.top_p.value(),
            density: p.density.value(),
            harmony_pct: p.harmony_pct.value(),
            memory_pct: p.memory_pct.value(),
        };
        let record = FeedbackRecord::new(
            &ex,
            verdict,
            unix_now(),
            (self.status.model_name(), model_ref.clone()),
            settings,
            (self.status.tempo(), self.roll.numerator, self.roll.denominator),
        );
        let path = export::feedback_path(&model_ref);
        match export::append_feedback(&path, &record) {
            Ok(()) => self.say(
                format!(
                    "{} the last {PHRASE_BARS} bars: noted in {}",
                    if verdict == Verdict::Keep { "Kept" } else { "Discarded" },
                    path.display()
                ),
                false,
            ),
            Err(e) => self.say(e.to_string(), true),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl NiceEguiApp for SidemanApp {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        egui_ctx.all_styles_mut(|s| {
            s.spacing.item_spacing = vec2(6.0, 5.0);
            s.spacing.button_padding = vec2(7.0, 3.0);
        });
        self.gui = Some(gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut nice_plug_egui::Frame) {
        self.pull_roll();
        self.poll_dialog();
        self.take_drops(ui);
        let Some(gui) = self.gui.clone() else { return };
        let setter = gui.param_setter();
        self.panic.tick(ui, &setter, &self.params.panic);
        let min = vec2(EDITOR_MIN_SIZE.0 as f32, EDITOR_MIN_SIZE.1 as f32);
        ResizableWindow::new("sideman-resize").min_size(min).show(ui, |ui| {
            self.contents(ui, &setter);
        });
        let playing = self.status.playing.load(Ordering::Acquire);
        let wait = if playing || self.dialog.is_some() {
            Duration::from_secs_f32(1.0 / PLAYING_FPS)
        } else {
            Duration::from_millis(IDLE_REFRESH_MS)
        };
        ui.ctx().request_repaint_after(wait);
    }

    fn resized(&mut self, size: nice_plug_egui::baseview::WindowSize) {
        let (w, h) = (size.logical.width.round() as u32, size.logical.height.round() as u32);
        if w > 0 && h > 0 {
            self.params.update_editor_prefs(|p| {
                p.width = w;
                p.height = h;
            });
        }
    }
}
