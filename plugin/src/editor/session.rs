//! Playing in a session: the "Session" group (Mode, Trade, Rest, Lock loop, Vary) among the
//! controls, and the Panic button in the header.
//!
//! Controls that do nothing in the current mode are greyed out, with a tooltip that says why:
//! Trade only counts in Call & response, Rest in Call & response after a rest and in Continue,
//! and loops repeat (Lock, Vary) only in Accompany and Free, where Vary counts while Lock is off.
//! Every control is a host parameter changed with begin/set/end gestures, like the others.

use std::time::{Duration, Instant};

use egui::{Color32, ComboBox, Response, RichText, Ui, vec2};
use nice_plug::prelude::*;

use super::{KNOB_PITCH, bool_toggle, knob, set_once};
use crate::params::{ModeParam, SidemanParams, TradeParam};

/// Room the Session group takes, logical pixels (it starts a new row when less is left).
pub(super) const SESSION_GROUP_WIDTH: f32 = 48.0 + COMBO_WIDTH + 2.0 * KNOB_PITCH + 92.0;
/// Width of the Mode and Trade selectors.
const COMBO_WIDTH: f32 = 118.0;
/// Room the Panic button takes at the right of the status line, logical pixels.
pub(super) const PANIC_WIDTH: f32 = 64.0;
/// Colour of the Panic button's text.
const PANIC_COLOUR: Color32 = Color32::from_rgb(0xFF, 0x6B, 0x5E);
/// How long a Panic press holds the parameter on: the audio thread reads it once a block, and
/// the host may deliver a gesture's values together, so on and off in one frame could go unseen.
/// Longer than any block a host uses (8192 samples at 44.1 kHz is 186 ms).
const PANIC_HOLD: Duration = Duration::from_millis(250);

/// What each mode does, in a musician's words.
fn mode_help(m: ModeParam) -> &'static str {
    match m {
        ModeParam::Accompany => {
            "Sideman plays along all the time, following the chords you hold (and, for the roles \
             that listen to them, your notes)."
        }
        ModeParam::CallResponse => {
            "Sideman listens while you play and answers when you rest, developing your phrase; it \
             stops the moment you play again."
        }
        ModeParam::Continue => {
            "When you stop, Sideman carries on what you played, in your rhythm and shape, until you \
             play again."
        }
        ModeParam::Free => "Sideman plays on its own and does not listen to you: your chords and notes are ignored.",
    }
}

/// When an answer comes, in a musician's words.
fn trade_help(t: TradeParam) -> &'static str {
    match t {
        TradeParam::Rest => {
            "Sideman answers once you have rested for the Rest length, for about as long as your \
             phrase lasted."
        }
        TradeParam::Two => {
            "Trading twos: you play 2 bars, Sideman answers in the next 2 (counted from the song's start)."
        }
        TradeParam::Four => {
            "Trading fours: you play 4 bars, Sideman answers in the next 4 (counted from the song's start)."
        }
        TradeParam::Eight => {
            "Trading eights: you play 8 bars, Sideman answers in the next 8 (counted from the song's start)."
        }
    }
}

/// Whether Trade applies in `mode`.
pub(super) fn trade_applies(mode: ModeParam) -> bool {
    mode == ModeParam::CallResponse
}

/// Whether Rest applies in `mode` with `trade`.
pub(super) fn rest_applies(mode: ModeParam, trade: TradeParam) -> bool {
    mode == ModeParam::Continue || (mode == ModeParam::CallResponse && trade == TradeParam::Rest)
}

/// Whether loops repeat their notes (Lock, Vary) in `mode`: the answering modes play every
/// answer anew.
pub(super) fn loops_apply(mode: ModeParam) -> bool {
    !mode.answers()
}

/// The Session group's controls: Mode and Trade, Rest, Lock loop and Vary.
pub(super) fn session_controls(ui: &mut Ui, setter: &ParamSetter, p: &SidemanParams) {
    let mode = p.mode.value();
    let trade = p.trade.value();
    egui::Grid::new("session")
        .num_columns(2)
        .spacing(vec2(4.0, 6.0))
        .show(ui, |ui| {
            ui.label("Mode");
            described_combo(ui, setter, &p.mode, "mode", mode_help)
                .on_hover_text(format!("How Sideman plays with you. {}", mode_help(mode)));
            ui.end_row();
            ui.label("Trade");
            ui.add_enabled_ui(trade_applies(mode), |ui| {
                described_combo(ui, setter, &p.trade, "trade", trade_help)
                    .on_hover_text(format!("When Sideman answers you. {}", trade_help(trade)))
                    .on_disabled_hover_text("When Sideman answers you: only in Call & response.");
            });
            ui.end_row();
        });
    ui.add_enabled_ui(rest_applies(mode, trade), |ui| {
        knob(
            ui,
            setter,
            &p.rest_beats,
            "Rest",
            "How long you rest (no key held or touched) before Sideman answers or carries on.",
            None,
        )
        .on_disabled_hover_text(
            "Rest: how long you rest before Sideman plays. Counts in Continue, and in Call & response \
             with Trade \"After a rest\" (trading on the bar grid waits for the bar instead).",
        );
    });
    let loops = loops_apply(mode);
    let off_in_answers =
        "Loops repeat in Accompany and Free only: in Call & response and Continue every answer is new.";
    let locked = p.lock.value();
    ui.add_enabled_ui(loops, |ui| {
        bool_toggle(ui, setter, &p.lock, "Lock loop")
            .on_hover_text(
                "When your DAW loops a section, Sideman keeps the notes it played there, pass after pass, \
                 like a recorded part, until you play different chords there.",
            )
            .on_disabled_hover_text(off_in_answers);
    });
    ui.add_enabled_ui(loops && !locked, |ui| {
        knob(
            ui,
            setter,
            &p.vary_pct,
            "Vary",
            "Loops, unlocked: how much of each pass is played anew, from the loop's end back. 0 % repeats \
             the pass note for note, 50 % keeps its first half and reworks the rest, 100 % plays every bar \
             new (still carrying on from the pass before).",
            None,
        )
        .on_disabled_hover_text(if loops {
            "Lock loop is on: the loop repeats note for note. Turn Lock off to vary it."
        } else {
            off_in_answers
        });
    });
}

/// A selector bound to an enum parameter, with a tooltip on each choice.
fn described_combo<T: Enum + PartialEq + 'static>(
    ui: &mut Ui,
    setter: &ParamSetter,
    param: &EnumParam<T>,
    id: &str,
    help: fn(T) -> &'static str,
) -> Response {
    let current = param.value().to_index();
    let mut picked = None;
    let r = ComboBox::from_id_salt(id)
        .selected_text(T::variants()[current])
        .width(COMBO_WIDTH)
        .show_ui(ui, |ui| {
            for (i, name) in T::variants().iter().enumerate() {
                if ui
                    .selectable_label(i == current, *name)
                    .on_hover_text(help(T::from_index(i)))
                    .clicked()
                {
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

/// The Panic button's pulse of the `panic` parameter: on when pressed, off again [`PANIC_HOLD`]
/// later, so the audio thread sees the rise whatever its block size.
#[derive(Debug, Default)]
pub(super) struct PanicPulse {
    /// The next value to set and when: `true` when the parameter was found on at the press (a
    /// window closed mid-pulse, or the host) and was set off first, so that there is a rise.
    next: Option<(bool, Instant)>,
}

impl PanicPulse {
    /// A press at `now`, the parameter being `value`: the value to set now (none while a pulse
    /// is under way).
    fn press(&mut self, now: Instant, value: bool) -> Option<bool> {
        if self.next.is_some() {
            return None;
        }
        // Off: on now, off after the hold. On: off now, on after the hold (then off).
        self.next = Some((value, now + PANIC_HOLD));
        Some(!value)
    }

    /// The value to set at `now`, if a step is due.
    fn step(&mut self, now: Instant) -> Option<bool> {
        let (on, due) = self.next?;
        if now < due {
            return None;
        }
        self.next = on.then_some((false, now + PANIC_HOLD));
        Some(on)
    }

    /// The button (red text).
    pub(super) fn button(&mut self, ui: &mut Ui, setter: &ParamSetter, param: &BoolParam) {
        let pressed = ui
            .add_sized(
                vec2(PANIC_WIDTH, ui.spacing().interact_size.y),
                egui::Button::new(RichText::new("Panic").strong().color(PANIC_COLOUR)),
            )
            .on_hover_text("Every note off now (CC 123 and 120 too)")
            .clicked();
        if pressed && let Some(v) = self.press(Instant::now(), param.value()) {
            set_once(setter, param, v);
            ui.ctx().request_repaint_after(PANIC_HOLD);
        }
    }

    /// Takes the next step when it is due (call every frame), and asks for a frame then.
    pub(super) fn tick(&mut self, ui: &Ui, setter: &ParamSetter, param: &BoolParam) {
        let now = Instant::now();
        if let Some(v) = self.step(now) {
            set_once(setter, param, v);
        }
        if let Some((_, due)) = self.next {
            ui.ctx().request_repaint_after(due.saturating_duration_since(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greyed_out_where_the_mode_ignores_them() {
        use ModeParam::*;
        use TradeParam::*;
        assert!(trade_applies(CallResponse));
        assert!(!trade_applies(Accompany) && !trade_applies(Continue) && !trade_applies(Free));
        assert!(rest_applies(CallResponse, Rest) && rest_applies(Continue, Rest) && rest_applies(Continue, Four));
        assert!(!rest_applies(CallResponse, Two) && !rest_applies(Accompany, Rest) && !rest_applies(Free, Rest));
        assert!(loops_apply(Accompany) && loops_apply(Free));
        assert!(!loops_apply(CallResponse) && !loops_apply(Continue));
    }

    #[test]
    fn panic_pulses_on_then_off_after_the_hold() {
        let t0 = Instant::now();
        let mut p = PanicPulse::default();
        assert_eq!(p.step(t0), None);
        assert_eq!(p.press(t0, false), Some(true));
        // A second press during the pulse does nothing; nothing is due before the hold ends.
        assert_eq!(p.press(t0, true), None);
        assert_eq!(p.step(t0 + PANIC_HOLD / 2), None);
        assert_eq!(p.step(t0 + PANIC_HOLD), Some(false));
        assert_eq!(p.step(t0 + PANIC_HOLD * 4), None);
        // Found on (left so): off, then on after a hold (the rise), then off after another.
        assert_eq!(p.press(t0, true), Some(false));
        assert_eq!(p.step(t0 + PANIC_HOLD), Some(true));
        assert_eq!(p.step(t0 + PANIC_HOLD + PANIC_HOLD / 2), None);
        assert_eq!(p.step(t0 + PANIC_HOLD * 2), Some(false));
        assert_eq!(p.step(t0 + PANIC_HOLD * 3), None);
        assert_eq!(p.press(t0 + PANIC_HOLD * 3, false), Some(true));
    }

    #[test]
    fn every_choice_has_its_own_words() {
        let modes: Vec<_> = (0..ModeParam::variants().len())
            .map(|i| mode_help(ModeParam::from_index(i)))
            .collect();
        let trades: Vec<_> = (0..TradeParam::variants().len())
            .map(|i| trade_help(TradeParam::from_index(i)))
            .collect();
        for list in [&modes, &trades] {
            for (i, a) in list.iter().enumerate() {
                assert!(!list[..i].contains(a), "{a}");
            }
        }
    }
}
