//! The preview-sound controls at the right of the header: the "Preview sound" switch and its level.
//!
//! They sit in the first line a new user sees, because the preview is what they hear before any
//! routing, and one click on the switch silences it once Sideman's MIDI plays an instrument (see
//! [`crate::preview`]). Both are host parameters, changed with begin/set/end gestures like every
//! other control.

use egui::{Response, Ui};
use nice_plug::prelude::*;

use super::{bool_toggle, drag_gesture, set_once};
use crate::params::{PREVIEW_LEVEL_RANGE_DB, SidemanParams};

/// Room the controls take, logical pixels (the header puts them on a line of their own when it
/// has less left).
pub(super) const PREVIEW_CONTROLS_WIDTH: f32 = 270.0;
/// Width of the level slider's track, logical pixels.
const LEVEL_SLIDER_WIDTH: f32 = 72.0;

/// The switch and the level slider (dimmed while the preview is off), laid out right to left.
pub(super) fn preview_controls(ui: &mut Ui, setter: &ParamSetter, params: &SidemanParams) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        let on = params.preview.value();
        ui.add_enabled_ui(on, |ui| {
            level_slider(ui, setter, &params.preview_level_db)
                .on_hover_text("Level of the preview sound (double-click: -12 dB).");
        });
        bool_toggle(ui, setter, &params.preview, "Preview sound").on_hover_text(
            "Sideman's own sound (e-piano, bass or drum kit by role), so you hear it at once. \
             Turn off once Sideman's MIDI goes to an instrument.",
        );
    });
}

/// A slider bound to a float parameter in dB: drag it (one gesture), click, or type a value;
/// double-click for the default.
fn level_slider(ui: &mut Ui, setter: &ParamSetter, param: &FloatParam) -> Response {
    let mut v = param.unmodulated_plain_value();
    let (lo, hi) = PREVIEW_LEVEL_RANGE_DB;
    ui.spacing_mut().slider_width = LEVEL_SLIDER_WIDTH;
    let r = ui.add(
        egui::Slider::new(&mut v, lo..=hi)
            .step_by(0.5)
            .fixed_decimals(1)
            .suffix(" dB"),
    );
    drag_gesture(setter, param, &r, v);
    if r.double_clicked() {
        set_once(setter, param, param.default_plain_value());
    }
    r
}
