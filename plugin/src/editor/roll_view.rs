//! Drawing the scrolling piano roll ([`super::roll`] holds its geometry and model, tested
//! headless; this is the egui painting and the hover text).

use super::*;

impl SidemanApp {
    /// The scrolling piano roll.
    pub(super) fn piano_roll(&mut self, ui: &mut Ui) {
        let size = ui.available_size();
        let (response, painter) = ui.allocate_painter(size, Sense::hover());
        let full = response.rect;
        let gutter = 58.0;
        let strip = 20.0;
        let area = Rect::from_min_max(pos2(full.min.x + gutter, full.min.y + strip), full.max);
        painter.rect_filled(full, CornerRadius::same(4), Color32::from_rgb(0x15, 0x17, 0x1C));
        painter.rect_filled(area, CornerRadius::ZERO, ROLL_BG);

        let playhead = self.status.playhead();
        let playhead = if playhead.is_finite() { playhead } else { 0.0 };
        let bar_beats = self.roll.bar_beats();
        let look_ahead = self.params.look_ahead_beats.value() as f64;
        let (first, beats) = roll::view_window(playhead, bar_beats, look_ahead);
        let drums = self.params.role.value() == RoleParam::Drums;
        let lanes = if drums {
            Lanes::Drums
        } else {
            roll::fit_keys(self.roll.generated.iter().chain(self.roll.input.iter()))
        };
        let geo = RollGeometry {
            rect: PixelRect {
                x0: area.min.x,
                y0: area.min.y,
                x1: area.max.x,
                y1: area.max.y,
            },
            first_beat: first,
            beats,
            lanes,
        };
        let lane_h = geo.lane_height();

        // Lanes: black keys darker, C labelled; or the drum kit.
        for lane in 0..geo.lane_count() {
            let (y0, y1) = geo.lane_span(lane);
            let r = Rect::from_min_max(pos2(area.min.x, y0), pos2(area.max.x, y1));
            match lanes {
                Lanes::Keys { lo, .. } => {
                    let key = lo + lane as u8;
                    if matches!(key % 12, 1 | 3 | 6 | 8 | 10) {
                        painter.rect_filled(r, CornerRadius::ZERO, Color32::from_rgb(0x17, 0x19, 0x1F));
                    }
                    if key.is_multiple_of(12) {
                        painter.hline(
                            area.x_range(),
                            y1,
                            Stroke::new(1.0, Color32::from_rgb(0x33, 0x38, 0x42)),
                        );
                        if lane_h * 3.0 >= 9.0 {
                            painter.text(
                                pos2(full.min.x + 4.0, (y0 + y1) / 2.0),
                                Align2::LEFT_CENTER,
                                roll::key_name(key),
                                FontId::monospace(10.0),
                                Color32::from_gray(150),
                            );
                        }
                    }
                }
                Lanes::Drums => {
                    if lane % 2 == 1 {
                        painter.rect_filled(r, CornerRadius::ZERO, Color32::from_rgb(0x18, 0x1A, 0x20));
                    }
                    painter.text(
                        pos2(full.min.x + 4.0, (y0 + y1) / 2.0),
                        Align2::LEFT_CENTER,
                        DRUM_LANES.get(lane).map_or("", |l| l.name),
                        FontId::proportional(10.0),
                        Color32::from_gray(160),
                    );
                }
            }
        }

        // The look-ahead: where notes wait to be played.
        let px = geo.beat_to_x(playhead);
        let ahead_rect = Rect::from_min_max(pos2(px, area.min.y), area.max);
        painter.rect_filled(ahead_rect, CornerRadius::ZERO, AHEAD_BG.gamma_multiply(0.6));

        // Beat and bar lines with bar numbers.
        let first_beat = first.ceil() as i64;
        let last_beat = (first + beats).floor() as i64;
        for b in first_beat..=last_beat {
            let beat = b as f64;
            let x = geo.beat_to_x(beat);
            let rel = (beat - self.roll.bar_origin) / bar_beats;
            let is_bar = (rel - rel.round()).abs() < 1e-6;
            let stroke = if is_bar {
                Stroke::new(1.0, Color32::from_rgb(0x4A, 0x50, 0x5C))
            } else {
                Stroke::new(1.0, Color32::from_rgb(0x2A, 0x2E, 0x36))
            };
            painter.vline(x, area.y_range(), stroke);
            if is_bar {
                painter.text(
                    pos2(x + 3.0, full.min.y + 2.0),
                    Align2::LEFT_TOP,
                    format!("{}", rel.round() as i64 + 1),
                    FontId::monospace(10.0),
                    Color32::from_gray(120),
                );
            }
        }

        // Chords along the top, in the input colour.
        let clip = painter.clip_rect();
        for (i, &(beat, chord)) in self.roll.chords.iter().enumerate() {
            let next = self.roll.chords.get(i + 1).map_or(f64::INFINITY, |c| c.0);
            if next < first || beat > first + beats {
                continue;
            }
            let x = geo.beat_to_x(beat).max(area.min.x);
            painter.text(
                pos2(x + 22.0, full.min.y + 2.0),
                Align2::LEFT_TOP,
                chord.to_string(),
                FontId::proportional(13.0),
                INPUT_COLOUR,
            );
        }
        let _ = clip;

        // Notes: the user's, then Sideman's on top.
        let note_shape = |n: &RollNote, colour: Color32, painter: &egui::Painter| {
            if let Some(r) = geo.note_rect(n, playhead) {
                let shrink = if lane_h > 4.0 { 1.0 } else { 0.0 };
                let rect = Rect::from_min_max(pos2(r.x0, r.y0 + shrink), pos2(r.x1, r.y1 - shrink));
                let alpha = 0.45 + 0.55 * (n.velocity as f32 / 127.0);
                painter.rect_filled(rect, CornerRadius::same(2), colour.gamma_multiply(alpha));
                painter.rect_stroke(
                    rect,
                    CornerRadius::same(2),
                    Stroke::new(1.0, colour),
                    StrokeKind::Inside,
                );
            }
        };
        if drums {
            // The user's playing as onsets along the top strip: the drum lanes are the kit's.
            for n in &self.roll.input {
                let x = geo.beat_to_x(n.start);
                if x >= area.min.x && x <= area.max.x {
                    painter.vline(x, (area.min.y - 6.0)..=area.min.y, Stroke::new(2.0, INPUT_COLOUR));
                }
            }
        } else {
            for n in &self.roll.input {
                note_shape(n, INPUT_COLOUR, &painter);
            }
        }
        for n in &self.roll.generated {
            note_shape(n, GENERATED_COLOUR, &painter);
        }

        // Rollback boundaries.
        for &b in &self.roll.rollbacks {
            if b < first || b > first + beats {
                continue;
            }
            let x = geo.beat_to_x(b);
            painter.extend(Shape::dashed_line(
                &[pos2(x, area.min.y), pos2(x, area.max.y)],
                Stroke::new(1.5, ROLLBACK_COLOUR),
                6.0,
                4.0,
            ));
            painter.add(Shape::convex_polygon(
                vec![
                    pos2(x - 5.0, area.min.y),
                    pos2(x + 5.0, area.min.y),
                    pos2(x, area.min.y + 7.0),
                ],
                ROLLBACK_COLOUR,
                Stroke::NONE,
            ));
        }

        // The playhead.
        painter.vline(px, full.y_range(), Stroke::new(2.0, PLAYHEAD_COLOUR));

        // Legend.
        let legend = [
            (INPUT_COLOUR, "you"),
            (GENERATED_COLOUR, "Sideman"),
            (ROLLBACK_COLOUR, "rollback"),
        ];
        let legend_bg = Rect::from_min_max(
            pos2(full.max.x - 190.0, full.min.y + 1.0),
            pos2(full.max.x - 2.0, full.min.y + 17.0),
        );
        painter.rect_filled(legend_bg, CornerRadius::same(3), Color32::from_rgb(0x15, 0x17, 0x1C));
        let mut x = full.max.x - 8.0;
        for (colour, text) in legend.iter().rev() {
            let r = painter.text(
                pos2(x, full.min.y + 3.0),
                Align2::RIGHT_TOP,
                text,
                FontId::proportional(11.0),
                Color32::from_gray(190),
            );
            let sw = Rect::from_min_size(pos2(r.min.x - 13.0, r.min.y + 2.0), vec2(9.0, 9.0));
            painter.rect_filled(sw, CornerRadius::same(2), *colour);
            x = sw.min.x - 10.0;
        }

        if self.roll.generated.is_empty() && self.roll.input.is_empty() {
            painter.text(
                area.center(),
                Align2::CENTER_CENTER,
                "Press play in your DAW and play some chords: Sideman answers here.",
                FontId::proportional(16.0),
                Color32::from_gray(170),
            );
        }
        if let Some(pos) = response.hover_pos()
            && area.contains(pos)
        {
            let beat = geo.x_to_beat(pos.x);
            let bar = ((beat - self.roll.bar_origin) / bar_beats).floor() as i64 + 1;
            let in_bar = (beat - self.roll.bar_origin).rem_euclid(bar_beats) + 1.0;
            let mut text = match self.roll.chord_at(beat) {
                Some(c) => format!("bar {bar}, beat {in_bar:.1}: {c}"),
                None => format!("bar {bar}, beat {in_bar:.1}"),
            };
            if self
                .roll
                .rollbacks
                .iter()
                .any(|&b| (geo.beat_to_x(b) - pos.x).abs() <= 4.0)
            {
                text.push_str(
                    "\nRollback: Sideman rewrote its notes from here on, because you changed the chord or a setting.",
                );
            }
            if pos.x > px {
                text.push_str("\nLook-ahead: notes ready but not played yet.");
            }
            response.on_hover_text_at_pointer(text);
        }
    }
}
