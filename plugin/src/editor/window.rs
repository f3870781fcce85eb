//! The window's layout: header, status row and line, the controls, the seed row and the footer
//! around the piano roll.

use super::*;

impl SidemanApp {
    pub(super) fn contents(&mut self, ui: &mut Ui, setter: &ParamSetter) {
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
    pub(super) fn header(&mut self, ui: &mut Ui, setter: &ParamSetter) {
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
    pub(super) fn status_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
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
    pub(super) fn status_line(&mut self, ui: &mut Ui) {
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
    pub(super) fn controls(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = self.params.clone();
        ui.horizontal_wrapped(|ui| {
            group(ui, "Session", session::SESSION_GROUP_WIDTH, |ui| {
                session::session_controls(ui, setter, &p);
            });
            group(ui, "Generate", 7.0 * KNOB_PITCH, |ui| {
                knob(ui, setter, &p.temperature, "Temp", "Temperature of the note choice, relative to the model's tuned setting for the role (1): low plays safe, high takes risks (the rhythm keeps the model's own).", None);
                knob(ui, setter, &p.top_k, "Top-k", "Only the k likeliest next notes (0 = off).", Some(&|v| if v < 0.5 { "off".into() } else { format!("{v:.0}") }));
                knob(ui, setter, &p.top_p, "Top-p", "Only the likeliest notes covering this share of their probability (1 = off; 0.95 plays each role at the cut the model was tuned to); timing, length and velocity are never cut, so rests and long notes stay.", None);
                knob(ui, setter, &p.density, "Density", "Fewer (left) or more (right) notes than the model would play; 0.50 = as it plays.", None);
                knob(ui, setter, &p.harmony_pct, "Harmony", "How strongly notes are pulled to the tones of the chord you hold (0 % = the model alone; the default 6 % plays each role at the pull its model was tuned to, none for the jazz lead, which follows the chords by itself).", None);
                knob(ui, setter, &p.memory_pct, "Memory", "How much the line comes back to its own figures: what it played after this figure the last time, and, for the band's bass and the pianos, what it played over these chords when they came round before, a whole bar again where a phrase of the changes comes round, and for the jazz bass a figure of a few notes from any beat, from any time those changes came round (100 % = as the musicians of the model's data do, 0 % = the network alone).", None);
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

    pub(super) fn seed_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = &self.params;
        let mut prefs: EditorPrefs = p.editor_prefs();
        ui.horizontal(|ui| {
            ui.label("Seed");
            int_drag(ui, setter, &p.seed, 0..=crate::params::MAX_SEED).on_hover_text(
                "The same seed and the same playing give the same notes (bounces reproduce). \
                 Each new instance starts on a seed of its own, so two instances play two lines.",
            );
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
                let seeds = crate::params::MAX_SEED as usize + 1;
                let mut v = rng.below(seeds) as i32;
                if v == p.seed.value() {
                    v = (v + 1) % seeds as i32;
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
    pub(super) fn footer(&mut self, ui: &mut Ui) {
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
