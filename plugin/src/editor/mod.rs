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

impl SidemanApp {
    fn contents(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        egui::Panel::top("header")
            .frame(egui::Frame::new().inner_margin(Margin::symmetric(8, 6)))
            .show(ui, |ui| {
                self.header(ui, setter);
                self.status_row(ui, setter);
            });
        egui::Panel::bottom("footer")
            .frame(egui::Frame::new().inner_margin(Margin::symmetric(8, 6)))
            .show(ui, |ui| self.footer(ui));
        // The controls wrap onto more rows in a narrow window; past what leaves the roll its
        // least height, they scroll.
        let controls_height = (ui.available_rect_before_wrap().height() - ROLL_MIN_HEIGHT).max(CONTROLS_MIN_HEIGHT);
        egui::Panel::bottom("controls")
            .frame(egui::Frame::new().inner_margin(Margin::symmetric(8, 6)))
            .show(ui, |ui| {
                // A bar always drawn, so the rows below are seen to be there.
                ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
                egui::ScrollArea::vertical()
                    .id_salt("controls-scroll")
                    .max_height(controls_height)
                    // The panel offers last frame's height: ask for the full room, not that.
                    .min_scrolled_height(controls_height)
                    .auto_shrink([false, true])
                    .show(ui, |ui| self.controls(ui, setter));
            });
        egui::CentralPanel::default()
            .frame(egui::Frame::new().inner_margin(Margin::symmetric(8, 2)))
            .show(ui, |ui| {
                self.piano_roll(ui);
            });
        let hovering = ui.input(|i| !i.raw.hovered_files.is_empty());
        if hovering {
            let r = ui.max_rect();
            ui.painter()
                .rect_filled(r, CornerRadius::ZERO, Color32::from_black_alpha(170));
            ui.painter().text(
                r.center(),
                Align2::CENTER_CENTER,
                "Drop a model package (its folder or manifest.json) to load it",
                FontId::proportional(20.0),
                Color32::WHITE,
            );
        }
    }

    /// Title, model picker, role and style; the preview sound at the right (on a line of its own
    /// when the window is too narrow).
    fn header(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let mut placed = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new("Sideman").size(20.0).strong().color(GENERATED_COLOUR));
            ui.add_space(8.0);
            ui.label("Model");
            self.model_picker(ui);
            ui.add_space(8.0);
            ui.label("Role");
            enum_combo(ui, setter, &self.params.role, "role", 96.0)
                .on_hover_text("What Sideman plays: a lead line, bass, comping chords, drums, or a continuation of your piano sketch. Changing it starts over at the next beat.");
            ui.add_space(8.0);
            ui.label("Style");
            self.style_picker(ui, setter);
            self.player_picker(ui, setter);
            if ui.available_width() >= sound::PREVIEW_CONTROLS_WIDTH {
                sound::preview_controls(ui, setter, &self.params);
                placed = true;
            }
        });
        if !placed {
            ui.horizontal(|ui| sound::preview_controls(ui, setter, &self.params));
        }
    }

    /// The status line, with the Panic button at its right, always in view.
    fn status_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            let spacing = ui.spacing().item_spacing.x;
            let status_width = (ui.available_width() - session::PANIC_WIDTH - spacing).max(0.0);
            ui.allocate_ui_with_layout(
                vec2(status_width, 0.0),
                egui::Layout::top_down(egui::Align::Min),
                |ui| self.status_line(ui),
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                self.panic.button(ui, setter, &self.params.panic);
            });
        });
    }

    /// Engine state, model, runtime, speed, look-ahead, drops; then the notice or error.
    fn status_line(&mut self, ui: &mut Ui) {
        let s = &self.status;
        let state = s.state();
        let playing = s.playing.load(Ordering::Acquire);
        let (dot, what) = match state {
            EngineState::Ready if playing => (Color32::from_rgb(0x66, 0xBB, 0x6A), "Playing"),
            EngineState::Ready => (Color32::from_rgb(0x9E, 0x9E, 0x9E), "Ready (press play)"),
            EngineState::Loading => (Color32::from_rgb(0xFF, 0xCA, 0x28), "Loading model"),
            EngineState::NoModel => (Color32::from_rgb(0x9E, 0x9E, 0x9E), "Starting"),
            EngineState::Failed => (Color32::from_rgb(0xEF, 0x53, 0x50), "Silent: see the error"),
        };
        let notice = s.notice();
        let error = s.last_error();
        egui::Frame::new()
            .fill(Color32::from_rgb(0x26, 0x2A, 0x33))
            .corner_radius(CornerRadius::same(4))
            .inner_margin(Margin::symmetric(8, 4))
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    let (r, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
                    ui.painter().circle_filled(r.center(), 5.0, dot);
                    ui.label(RichText::new(what).strong());
                    ui.separator();
                    let name = s.model_name();
                    let variant = if name.contains("(int8)")
                        || name.contains("(fp32)")
                        || name.to_lowercase().contains("markov")
                    {
                        ""
                    } else if name.is_empty() {
                        "no model"
                    } else {
                        " (Markov)"
                    };
                    ui.label(format!("{name}{variant}")).on_hover_text(if notice.is_empty() {
                        "The model playing now.".to_string()
                    } else {
                        notice.clone()
                    });
                    ui.separator();
                    match s.runtime() {
                        RuntimeState::Found => {
                            ui.label("ONNX Runtime: found").on_hover_text(s.runtime_detail());
                        }
                        RuntimeState::Missing => {
                            ui.colored_label(Color32::from_rgb(0xFF, 0xB7, 0x4D), "ONNX Runtime: missing")
                                .on_hover_text(s.runtime_detail());
                        }
                        RuntimeState::Unknown => {
                            ui.weak("ONNX Runtime: not checked yet");
                        }
                    }
                    ui.separator();
                    let rate = s.decode_rate();
                    ui.label(if rate > 0.0 {
                        format!("{rate:.0} tokens/s")
                    } else {
                        "- tokens/s".to_string()
                    })
                    .on_hover_text(format!(
                        "How fast the model generates ({} tokens so far). The music needs a few dozen per second.",
                        s.tokens_sampled.load(Ordering::Relaxed)
                    ));
                    ui.separator();
                    let target = self.params.look_ahead_beats.value() as f64;
                    let ahead = s.ahead_beats();
                    if playing && ahead.is_finite() {
                        let shown = ahead.clamp(-99.0, 99.0);
                        let colour = if shown < 0.0 {
                            Color32::from_rgb(0xEF, 0x53, 0x50)
                        } else if shown < target.min(1.0) {
                            Color32::from_rgb(0xFF, 0xB7, 0x4D)
                        } else {
                            ui.visuals().text_color()
                        };
                        ui.colored_label(colour, format!("look-ahead {shown:.1}/{target:.1} beats"))
                            .on_hover_text("Beats of notes ready ahead of the playhead. Below zero the model cannot keep up: lower the look-ahead or use a smaller model.");
                    } else {
                        ui.weak(format!("look-ahead -/{target:.1} beats"));
                    }
                    ui.separator();
                    let dropped = s.dropped_events.load(Ordering::Relaxed)
                        + s.dropped_notes.load(Ordering::Relaxed)
                        + s.dropped_to_worker.load(Ordering::Relaxed);
                    let late = s.late_notes.load(Ordering::Relaxed);
                    let text = format!("dropped {dropped}");
                    let label = if dropped > 0 {
                        ui.colored_label(Color32::from_rgb(0xFF, 0xB7, 0x4D), text)
                    } else {
                        ui.label(text)
                    };
                    label.on_hover_text(format!(
                        "Events lost on the way: {} refused by the host, {} generated notes with no room, {} of your notes not delivered to the generator; {late} notes came late. {} notes played, {} rollbacks.",
                        s.dropped_events.load(Ordering::Relaxed),
                        s.dropped_notes.load(Ordering::Relaxed),
                        s.dropped_to_worker.load(Ordering::Relaxed),
                        s.notes_played.load(Ordering::Relaxed),
                        s.rollbacks.load(Ordering::Relaxed),
                    ));
                });
                if state == EngineState::Failed && !error.is_empty() {
                    ui.colored_label(Color32::from_rgb(0xEF, 0x53, 0x50), format!("Error: {error}"));
                } else if !notice.is_empty() {
                    ui.colored_label(Color32::from_rgb(0xFF, 0xB7, 0x4D), format!("Note: {notice}"));
                } else if !error.is_empty() {
                    ui.weak(format!("Last error (recovered): {error}"));
                }
            });
    }

    /// The knobs and selectors, in groups that wrap: how Sideman plays with you first.
    fn controls(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = self.params.clone();
        ui.horizontal_wrapped(|ui| {
            group(ui, "Session", session::SESSION_GROUP_WIDTH, |ui| {
                session::session_controls(ui, setter, &p);
            });
            group(ui, "Generate", 7.0 * KNOB_PITCH, |ui| {
                knob(ui, setter, &p.temperature, "Temp", "Temperature of the note choice, relative to the model's tuned setting for the role (1): low plays safe, high takes risks (the rhythm keeps the model's own).", None);
                knob(ui, setter, &p.top_k, "Top-k", "Only the k likeliest next notes (0 = off).", Some(&|v| if v < 0.5 { "off".into() } else { format!("{v:.0}") }));
                knob(ui, setter, &p.top_p, "Top-p", "Only the likeliest notes covering this share of their probability (1 = off); timing, length and velocity are never cut, so rests and long notes stay.", None);
                knob(ui, setter, &p.density, "Density", "Fewer (left) or more (right) notes than the model would play; 0.50 = as it plays.", None);
                knob(ui, setter, &p.harmony_pct, "Harmony", "How strongly notes are pulled to the tones of the chord you hold (0 % = the model alone).", None);
                knob(ui, setter, &p.memory_pct, "Memory", "How much the line comes back to its own figures: what it played after this figure the last time, and, for the band's bass, what it played over these chords when they came round before (100 % = as the musicians of the model's data do, 0 % = the network alone).", None);
                knob(ui, setter, &p.look_ahead_beats, "Ahead", "Look-ahead: beats of notes generated before they play. Longer is safer on a busy computer; your chords are followed from the next beat either way.", None);
            });
            group(ui, "Key lock & range", 160.0 + 2.0 * KNOB_PITCH, |ui| {
                egui::Grid::new("key-lock").num_columns(2).spacing(vec2(4.0, 6.0)).show(ui, |ui| {
                    ui.label("Key");
                    enum_combo(ui, setter, &p.key, "key", 64.0)
                        .on_hover_text("Lock the notes to a key (Off: any note).");
                    ui.end_row();
                    ui.label("Scale");
                    enum_combo(ui, setter, &p.scale, "scale", 104.0)
                        .on_hover_text("The scale of the key lock.");
                    ui.end_row();
                });
                let note = |v: f32| roll::key_name(v.round().clamp(0.0, 127.0) as u8);
                let role = p.role.value().role();
                let within = match self.status.register(role) {
                    Some((lo, hi)) if !role.is_drums() => format!(
                        " The model's {role} played {}-{} in training: Sideman plays within both ranges (this one alone where they do not meet).",
                        roll::key_name(lo),
                        roll::key_name(hi)
                    ),
                    _ => String::new(),
                };
                knob(ui, setter, &p.pitch_lo, "Lowest", &format!("Lowest note Sideman plays.{within}"), Some(&note));
                knob(ui, setter, &p.pitch_hi, "Highest", &format!("Highest note Sideman plays.{within}"), Some(&note));
            });
            group(ui, "Feel", 150.0 + 5.0 * KNOB_PITCH, |ui| {
                knob(ui, setter, &p.feel_pct, "Feel", "How much of the model's own timing is kept: 0 % quantized, 100 % as the drummer played it (the human drums), up to 200 % exaggerated.", None);
                knob(ui, setter, &p.swing_pct, "Swing", "Delays the off-beats: 50 % straight, 67 % triplet swing.", None);
                egui::Grid::new("swing-fills").num_columns(2).spacing(vec2(4.0, 6.0)).show(ui, |ui| {
                    ui.label("Swing on");
                    enum_combo(ui, setter, &p.swing_unit, "swing-unit", 64.0)
                        .on_hover_text("Which off-beats Swing delays: eighths (jazz, shuffle) or sixteenths (hip-hop, funk).");
                    ui.end_row();
                    ui.label("Fills");
                    enum_combo(ui, setter, &p.fills, "fills", 104.0)
                        .on_hover_text("Drums: a fill in the last bar of every 4, 8 or 16 bars, landing on the next downbeat (models that learned fills: the human drums).");
                    ui.end_row();
                });
                knob(ui, setter, &p.humanize_ms, "Timing", "Humanize timing: random shifts up to this many milliseconds.", None);
                knob(ui, setter, &p.humanize_velocity_pct, "Dynamics", "Humanize velocity: random changes up to this percentage.", None);
                knob(ui, setter, &p.velocity_scale, "Velocity", "Scales every velocity.", None);
            });
            group(ui, "Seed & MIDI", 170.0, |ui| {
                ui.vertical(|ui| {
                    self.seed_row(ui, setter);
                    ui.add_enabled_ui(p.mode.value() != ModeParam::Free, |ui| {
                        bool_toggle(ui, setter, &p.follow_input, "Follow my playing")
                            .on_hover_text("On: Sideman follows the chords and notes you play. Off: it plays on its own.")
                            .on_disabled_hover_text("Mode Free: Sideman does not listen to you.");
                    });
                    ui.horizontal(|ui| {
                        ui.label("MIDI out channel");
                        int_drag(ui, setter, &p.channel, 1..=16)
                            .on_hover_text("The MIDI channel of Sideman's notes (drums are usually on 10).");
                    });
                });
            });
        });
    }

    fn seed_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = &self.params;
        let mut prefs: EditorPrefs = p.editor_prefs();
        ui.horizontal(|ui| {
            ui.label("Seed");
            int_drag(ui, setter, &p.seed, 0..=9999)
                .on_hover_text("The same seed and the same playing give the same notes (bounces reproduce).");
            let dice = ui
                .add_enabled(!prefs.seed_locked, egui::Button::new("🎲"))
                .on_hover_text("A new random seed: Sideman plays something else from the next beat.")
                .on_disabled_hover_text("The seed is locked.");
            if dice.clicked() {
                let mut rng = models::sampling::Rng::new(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_nanos() as u64)
                        .unwrap_or(1),
                );
                let mut v = rng.below(10_000) as i32;
                if v == p.seed.value() {
                    v = (v + 1) % 10_000;
                }
                set_once(setter, &p.seed, v);
            }
            let icon = if prefs.seed_locked { "🔒" } else { "🔓" };
            let lock = ui
                .toggle_value(&mut prefs.seed_locked, icon)
                .on_hover_text("Lock the seed so the dice leave it alone.");
            if lock.changed() {
                let locked = prefs.seed_locked;
                p.update_editor_prefs(|e| e.seed_locked = locked);
            }
        });
    }

    /// Export and Keep / Discard, and the last message.
    fn footer(&mut self, ui: &mut Ui) {
        let mut prefs = self.params.editor_prefs();
        ui.horizontal_wrapped(|ui| {
            ui.label("Export the last");
            let mut bars = prefs.export_bars;
            ComboBox::from_id_salt("export-bars")
                .selected_text(format!("{bars} bars"))
                .width(72.0)
                .show_ui(ui, |ui| {
                    for b in [2, 4, 8, 16] {
                        ui.selectable_value(&mut bars, b, format!("{b} bars"));
                    }
                });
            if bars != prefs.export_bars {
                self.params.update_editor_prefs(|e| e.export_bars = bars);
            }
            if ui.checkbox(&mut prefs.export_input, "with my input").changed() {
                let v = prefs.export_input;
                self.params.update_editor_prefs(|e| e.export_input = v);
            }
            ui.label("to");
            let edit = ui
                .add(egui::TextEdit::singleline(&mut self.export_dir_text).desired_width(190.0))
                .on_hover_text("The folder the MIDI file goes to (created if missing).");
            if edit.changed() {
                let v = self.export_dir_text.clone();
                self.params.update_editor_prefs(|e| e.export_dir = v);
            }
            if ui.button("...").on_hover_text("Choose the folder").clicked() {
                self.open_dialog(DialogPurpose::ExportFolder);
            }
            if ui
                .button(RichText::new("Export MIDI").strong())
                .on_hover_text("Writes the generated notes of the last bars (and your input) as a MIDI file at the host tempo, ready to drop on a track.")
                .clicked()
            {
                self.export_midi();
            }
            ui.separator();
            ui.label(format!("Last {PHRASE_BARS} bars:"));
            if ui
                .button("👍 Keep")
                .on_hover_text("You liked the last phrase: it is noted (with the settings) in a feedback file next to the model, for fine-tuning later.")
                .clicked()
            {
                self.judge_phrase(Verdict::Keep);
            }
            if ui
                .button("👎 Discard")
                .on_hover_text("You did not like the last phrase: noted in the same feedback file.")
                .clicked()
            {
                self.judge_phrase(Verdict::Discard);
            }
        });
        if let Some(t) = &self.toast {
            if Instant::now() > t.until {
                self.toast = None;
            } else {
                let colour = if t.error {
                    Color32::from_rgb(0xEF, 0x53, 0x50)
                } else {
                    Color32::from_rgb(0x81, 0xC7, 0x84)
                };
                ui.colored_label(colour, &t.text);
            }
        }
    }
}
