//! The editor's widgets: titled control groups, knobs, combos, drags and toggles, each changing a
//! host parameter with begin/set/end gestures.

use super::*;

/// A titled group of controls in a wrapping row, `width` wide (about, until it has been drawn
/// once: then as wide as it was): it starts a new row when the rest of this one is too narrow.
pub(super) fn group(ui: &mut Ui, title: &str, width: f32, add: impl FnOnce(&mut Ui)) {
    let id = egui::Id::unique(("group-width", title));
    let need = ui.data(|d| d.get_temp::<f32>(id)).unwrap_or(width + 16.0);
    // `available_width` is the whole row's in a wrapping layout: the rest of this row is the
    // room before the wrap. A group wider than the window stays on a row of its own.
    let row_started = ui.cursor().min.x > ui.max_rect().min.x + 1.0;
    if row_started && ui.available_size_before_wrap().x < need {
        ui.end_row();
    }
    let drawn = egui::Frame::new()
        .fill(Color32::from_rgb(0x22, 0x25, 0x2C))
        .corner_radius(CornerRadius::same(5))
        .inner_margin(Margin::symmetric(6, 4))
        .show(ui, |ui| {
            ui.vertical(|ui| {
                ui.label(RichText::new(title).small().color(Color32::from_gray(160)));
                ui.horizontal(add);
            });
        })
        .response
        .rect
        .width();
    ui.data_mut(|d| d.insert_temp(id, drawn));
}

/// One change as one undo step: begin, set, end.
pub(super) fn set_once<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// Hands the value `v` of a widget the user drags or types in (`r`) to the host: one gesture
/// from the drag's start to its end, a single change for a typed value.
pub(super) fn drag_gesture<P: Param>(setter: &ParamSetter, param: &P, r: &Response, v: P::Plain)
where
    P::Plain: PartialEq,
{
    if r.drag_started() {
        setter.begin_set_parameter(param);
    }
    if r.changed() && v != param.unmodulated_plain_value() {
        if r.dragged() || r.drag_stopped() {
            setter.set_parameter(param, v);
        } else {
            set_once(setter, param, v);
        }
    }
    if r.drag_stopped() {
        setter.end_set_parameter(param);
    }
}

/// Pixels of vertical drag for the whole range of a knob.
pub(super) const KNOB_DRAG_PX: f32 = 180.0;
/// Width of a knob.
pub(super) const KNOB_WIDTH: f32 = 52.0;
/// Horizontal room a knob takes in a row.
pub(super) const KNOB_PITCH: f32 = KNOB_WIDTH + 6.0;

/// A knob bound to a parameter: drag up/down (Shift: finer), scroll, double-click for the
/// default. The value shows with its unit (or `format`'s text) under the label.
pub(super) fn knob<P: Param>(
    ui: &mut Ui,
    setter: &ParamSetter,
    param: &P,
    label: &str,
    help: &str,
    format: Option<&dyn Fn(f32) -> String>,
) -> Response
where
    P::Plain: Into<f64>,
{
    let (rect, response) = ui.allocate_exact_size(vec2(KNOB_WIDTH, 72.0), Sense::click_and_drag());
    let id = response.id;
    let value = param.unmodulated_normalized_value();
    if response.drag_started() {
        setter.begin_set_parameter(param);
        ui.data_mut(|d| d.insert_temp(id, value));
    }
    if response.dragged() {
        let fine = ui.input(|i| i.modifiers.shift);
        let speed = if fine { 0.1 } else { 1.0 };
        let acc: f32 = ui.data(|d| d.get_temp(id)).unwrap_or(value);
        let next = (acc - response.drag_delta().y / KNOB_DRAG_PX * speed).clamp(0.0, 1.0);
        ui.data_mut(|d| d.insert_temp(id, next));
        setter.set_parameter_normalized(param, next);
    }
    if response.drag_stopped() {
        setter.end_set_parameter(param);
    }
    if response.double_clicked() {
        set_once(setter, param, param.default_plain_value());
    }
    if response.hovered() && !response.dragged() && ui.is_enabled() {
        // The wheel turns the knob; it does not scroll the controls too.
        ui.input_mut(|i| i.smooth_scroll_delta = egui::Vec2::ZERO);
        // One step per wheel event (not per frame of smoothed scrolling).
        let steps: i32 = ui.input(|i| {
            i.events
                .iter()
                .map(|e| match e {
                    egui::Event::MouseWheel { delta, .. } if delta.y > 0.0 => 1,
                    egui::Event::MouseWheel { delta, .. } if delta.y < 0.0 => -1,
                    _ => 0,
                })
                .sum()
        });
        if steps != 0 {
            let mut plain = param.unmodulated_plain_value();
            for _ in 0..steps.unsigned_abs() {
                plain = if steps > 0 {
                    param.next_step(plain, false)
                } else {
                    param.previous_step(plain, false)
                };
            }
            set_once(setter, param, plain);
        }
    }

    let value = param.unmodulated_normalized_value();
    let painter = ui.painter();
    let centre = pos2(rect.center().x, rect.min.y + 24.0);
    let radius = 17.0;
    let start = std::f32::consts::PI * 0.75;
    let sweep = std::f32::consts::PI * 1.5;
    let arc = |from: f32, to: f32| -> Vec<Pos2> {
        let steps = 24;
        (0..=steps)
            .map(|i| {
                let a = start + sweep * (from + (to - from) * i as f32 / steps as f32);
                centre + vec2(a.cos(), a.sin()) * radius
            })
            .collect()
    };
    let active = response.hovered() || response.dragged();
    painter.circle_filled(centre, radius - 4.0, Color32::from_rgb(0x30, 0x34, 0x3E));
    painter.add(Shape::line(
        arc(0.0, 1.0),
        Stroke::new(4.0, Color32::from_rgb(0x3A, 0x3F, 0x4A)),
    ));
    let colour = if active {
        GENERATED_COLOUR
    } else {
        GENERATED_COLOUR.gamma_multiply(0.85)
    };
    if value > 0.001 {
        painter.add(Shape::line(arc(0.0, value), Stroke::new(4.0, colour)));
    }
    let a = start + sweep * value;
    painter.line_segment(
        [centre, centre + vec2(a.cos(), a.sin()) * (radius - 5.0)],
        Stroke::new(2.0, Color32::WHITE),
    );
    painter.text(
        pos2(rect.center().x, rect.min.y + 46.0),
        Align2::CENTER_TOP,
        label,
        FontId::proportional(11.0),
        Color32::from_gray(200),
    );
    let plain: f64 = param.unmodulated_plain_value().into();
    let text = match format {
        Some(f) => f(plain as f32),
        None => param.normalized_value_to_string(value, true),
    };
    painter.text(
        pos2(rect.center().x, rect.min.y + 59.0),
        Align2::CENTER_TOP,
        text,
        FontId::proportional(11.0),
        Color32::from_gray(235),
    );
    let default_text = {
        let d: f64 = param.default_plain_value().into();
        match format {
            Some(f) => f(d as f32),
            None => param.normalized_value_to_string(param.default_normalized_value(), true),
        }
    };
    response.on_hover_text(format!(
        "{}: {help}\nDrag up/down (Shift: finer), scroll, double-click for the default ({default_text}).",
        param.name()
    ))
}

/// A selector bound to an enum parameter.
pub(super) fn enum_combo<T: Enum + PartialEq + 'static>(
    ui: &mut Ui,
    setter: &ParamSetter,
    param: &EnumParam<T>,
    id: &str,
    width: f32,
) -> Response {
    let current = param.value().to_index();
    let mut picked = None;
    let r = ComboBox::from_id_salt(id)
        .selected_text(T::variants()[current])
        .width(width)
        .show_ui(ui, |ui| {
            for (i, name) in T::variants().iter().enumerate() {
                if ui.selectable_label(i == current, *name).clicked() {
                    picked = Some(i);
                }
            }
        });
    if let Some(i) = picked
        && i != current
    {
        set_once(setter, param, T::from_index(i));
    }
    r.response
}

/// A number field bound to an integer parameter: drag it or type a value.
pub(super) fn int_drag(
    ui: &mut Ui,
    setter: &ParamSetter,
    param: &IntParam,
    range: std::ops::RangeInclusive<i32>,
) -> Response {
    let mut v = param.value();
    let r = ui.add(egui::DragValue::new(&mut v).range(range).speed(0.2));
    drag_gesture(setter, param, &r, v);
    r
}

/// A checkbox bound to a boolean parameter.
pub(super) fn bool_toggle(ui: &mut Ui, setter: &ParamSetter, param: &BoolParam, label: &str) -> Response {
    let mut v = param.value();
    let r = ui.checkbox(&mut v, label);
    if r.changed() {
        set_once(setter, param, v);
    }
    r
}
