//! The model and style pickers of the header, and the model card shown in their tooltips.

use super::*;

impl SidemanApp {
    pub(super) fn model_picker(&mut self, ui: &mut Ui) {
        let asked = self.params.model_path();
        let role = self.params.role.value().role();
        let default_ref = models::assets::default_for(role);
        let playing_name = self.status.model_name();
        let selected = if self.status.state() == EngineState::Loading {
            "Loading...".to_string()
        } else if playing_name.is_empty() {
            "(none)".to_string()
        } else {
            playing_name
        };
        let mut choice: Option<String> = None;
        let mut load_dialog = false;
        let response = ComboBox::from_id_salt("model")
            .selected_text(selected)
            .width(250.0)
            .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
            .show_ui(ui, |ui| {
                ui.set_min_width(330.0);
                let default_name = self
                    .catalog
                    .info(&default_ref)
                    .map(|m| m.name.clone())
                    .unwrap_or_else(|_| default_ref.clone());
                let r = ui.selectable_label(asked.is_empty(), format!("Default for {}: {default_name}", role.name()));
                if r.clicked() {
                    choice = Some(String::new());
                }
                if let Ok(info) = self.catalog.info(&default_ref) {
                    r.on_hover_ui(|ui| model_card(ui, &info));
                }
                ui.separator();
                for info in self.catalog.builtins().to_vec() {
                    let label = format!("{}  ({})", info.name, roles_text(&info.roles));
                    let r = ui.selectable_label(asked == info.reference, label);
                    if r.clicked() {
                        choice = Some(info.reference.clone());
                    }
                    r.on_hover_ui(|ui| model_card(ui, &info));
                }
                let user = self.catalog.user_models(&asked);
                if !user.is_empty() {
                    ui.separator();
                }
                for info in user {
                    let r = ui.selectable_label(asked == info.reference, format!("{}  (package)", info.name));
                    if r.clicked() {
                        choice = Some(info.reference.clone());
                    }
                    r.on_hover_ui(|ui| {
                        model_card(ui, &info);
                        ui.label(RichText::new(&info.reference).small().weak());
                    });
                }
                ui.separator();
                if ui
                    .button("Load model...")
                    .on_hover_text("Choose the folder of a model package exported by the trainer (`trainer export`).")
                    .clicked()
                {
                    load_dialog = true;
                }
                ui.horizontal(|ui| {
                    let edit = ui.add(
                        egui::TextEdit::singleline(&mut self.path_text)
                            .hint_text("or type a package folder / manifest.json")
                            .desired_width(250.0),
                    );
                    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.button("Load").clicked() || enter) && !self.path_text.trim().is_empty() {
                        choice = Some(self.path_text.trim().to_string());
                    }
                });
            });
        let model_ref = self.status.model_ref();
        if let Ok(info) = self.catalog.info(&model_ref) {
            response.response.on_hover_ui(|ui| {
                model_card(ui, &info);
                if !info.roles.contains(&role) {
                    ui.colored_label(
                        Color32::from_rgb(0xFF, 0xB7, 0x4D),
                        format!("This model was not trained for the {} role.", role.name()),
                    );
                }
            });
        }
        if let Some(c) = choice {
            self.choose_model(&c);
            ui.close();
        }
        if load_dialog {
            self.open_dialog(DialogPurpose::LoadModel);
            ui.close();
        }
        if self.dialog.as_ref().is_some_and(|d| d.0 == DialogPurpose::LoadModel) {
            ui.spinner();
        }
    }

    pub(super) fn style_picker(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let param = &self.params.style;
        let styles = self
            .catalog
            .info(&self.status.model_ref())
            .map(|m| m.styles.clone())
            .unwrap_or_default();
        let current = param.value();
        let name = |v: i32| -> String {
            if v <= 0 {
                "Any".to_string()
            } else {
                styles
                    .get(v as usize - 1)
                    .cloned()
                    .unwrap_or_else(|| format!("slot {v} (not in this model)"))
            }
        };
        let mut picked = None;
        ComboBox::from_id_salt("style")
            .selected_text(name(current))
            .width(150.0)
            .height(320.0)
            .show_ui(ui, |ui| {
                if ui.selectable_label(current == 0, "Any").clicked() {
                    picked = Some(0);
                }
                for (i, s) in styles.iter().enumerate().take(crate::params::MAX_STYLE_PARAM as usize) {
                    let v = i as i32 + 1;
                    // Where a stream lies, not a style to ask for.
                    if s == models::tokenizer::vocab::OPENING_STYLE {
                        continue;
                    }
                    if ui.selectable_label(current == v, s).clicked() {
                        picked = Some(v);
                    }
                }
            })
            .response
            .on_hover_text(
                "A style the model learned (a groove, a soloist's corpus). \"Any\" lets the model choose; \
                 a change starts over at the next beat.",
            );
        if let Some(v) = picked {
            set_once(setter, param, v);
        }
    }

    /// The Player of a model whose data names its players (the human drums, whose drummer the
    /// header names; the jazz soloists, whose phrasing the lead takes); nothing for others. Auto
    /// shows the player the Seed draws for the Style.
    pub(super) fn player_picker(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let Some(info) = self.catalog.info(&self.status.model_ref()).ok() else {
            return;
        };
        let Some(players) = &info.players else {
            let role = self.params.role.value().role();
            if let Some((_, names)) = info.phrasing.iter().find(|(r, _)| *r == role) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                self.player_combo(
                    ui,
                    setter,
                    &names,
                    "Auto",
                    "Whose phrasing the role takes: how often it rests, as that soloist did in the solos the \
                     model learned from (the notes stay the model's). Auto plays the soloists' average; a \
                     change starts over at the next beat.",
                );
            }
            return;
        };
        let style = usize::try_from(self.params.style.value() - 1)
            .ok()
            .and_then(|i| info.styles.get(i))
            .map(String::as_str);
        let seed = models::generate::session_seed(self.params.seed.value().max(0) as u64);
        let auto = match style {
            Some(s) if players.is_player(s) => "Auto (the Style's)".to_string(),
            _ => match players.draw(style.as_slice(), seed) {
                Some(p) => format!("Auto ({p})"),
                None => "Auto".to_string(),
            },
        };
        self.player_combo(
            ui,
            setter,
            &players.names(),
            &auto,
            "Who plays the Style: one of the drummers the model learned from. Auto draws one from the Seed \
             among those who recorded that style, as often as they did; a change starts over at the next beat.",
        );
    }

    /// The Player picker over `names` (the parameter's n-th is `names[n - 1]`), Auto first.
    fn player_combo(&mut self, ui: &mut Ui, setter: &ParamSetter, names: &[&str], auto: &str, hover: &str) {
        let param = &self.params.player;
        let current = param.value();
        // A number past the model's players plays Auto, as the worker reads it.
        let named = usize::try_from(current - 1).ok().and_then(|i| names.get(i));
        ui.label("Player");
        let mut picked = None;
        ComboBox::from_id_salt("player")
            .selected_text(named.copied().unwrap_or(auto))
            .width(130.0)
            .height(320.0)
            .show_ui(ui, |ui| {
                if ui.selectable_label(named.is_none(), auto).clicked() {
                    picked = Some(0);
                }
                for (i, n) in names.iter().enumerate().take(crate::params::MAX_PLAYER_PARAM as usize) {
                    let v = i as i32 + 1;
                    if ui.selectable_label(current == v, *n).clicked() {
                        picked = Some(v);
                    }
                }
            })
            .response
            .on_hover_text(hover);
        if let Some(v) = picked {
            set_once(setter, param, v);
        }
    }
}

/// The card of a model, for a tooltip: the facts a user checks before choosing it.
pub(super) fn model_card(ui: &mut Ui, m: &ModelInfo) {
    ui.set_max_width(420.0);
    ui.label(RichText::new(&m.name).strong());
    if !m.description.is_empty() {
        ui.label(&m.description);
    }
    ui.label(format!("Roles: {}", roles_text(&m.roles)));
    let styles = if m.styles.is_empty() {
        "none".to_string()
    } else if m.styles.len() <= 6 {
        m.styles.join(", ")
    } else {
        format!("{} styles ({}, ...)", m.styles.len(), m.styles[..6].join(", "))
    };
    ui.label(format!("Styles: {styles}"));
    if let Some(p) = &m.players {
        ui.label(format!("Players: {}", p.names().join(", ")));
    }
    for (role, names) in &m.phrasing {
        let shown = names.iter().take(4).map(String::as_str).collect::<Vec<_>>().join(", ");
        let more = if names.len() > 4 { ", ..." } else { "" };
        ui.label(format!(
            "Players ({role}, their phrasing): {} ({shown}{more})",
            names.len()
        ));
    }
    ui.label(format!("Size: {} ({})", human_bytes(m.size_bytes), m.kind));
    for d in &m.data {
        ui.label(format!(
            "Data: {} ({} pieces, {}): {}",
            d.name, d.pieces, d.licence, d.provenance
        ));
    }
    if let Some(q) = &m.quality {
        ui.label(q);
    }
}

pub(super) fn roles_text(roles: &[models::Role]) -> String {
    roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
}

pub(super) fn human_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MB", b as f64 / (1 << 20) as f64)
    } else {
        format!("{:.0} kB", b as f64 / 1024.0)
    }
}
