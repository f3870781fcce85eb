//! The loss-curve PNG of a run folder (plotters, bitmap backend). Text needs a TrueType font: the
//! first of a few common system fonts is used; without one the curve is drawn unlabelled.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        for f in FONTS {
            if let Ok(bytes) = std::fs::read(f) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// Draws train and validation loss from `metrics.csv` into `png`.
pub fn loss_png(metrics: &Path, png: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(metrics)?;
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let Some(step) = f.first().and_then(|s| s.parse::<f64>().ok()) else {
            continue;
        };
        if let Some(v) = f.get(3).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite()) {
            train.push((step, v));
        }
        if let Some(v) = f.get(4).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite()) {
            valid.push((step, v));
        }
    }
    if train.is_empty() {
        return Ok(());
    }
    let xmax = train.iter().chain(&valid).map(|p| p.0).fold(1.0, f64::max);
    let ys = train.iter().chain(&valid).map(|p| p.1);
    let (ymin, ymax) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let tmp = png.with_extension("tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let labelled = font_ready();
        let mut b = ChartBuilder::on(&root);
        b.margin(15);
        if labelled {
            b.caption("loss", ("sans-serif", 22))
                .x_label_area_size(35)
                .y_label_area_size(50);
        }
        let mut chart = b.build_cartesian_2d(0.0..xmax, (ymin * 0.95)..(ymax * 1.02))?;
        if labelled {
            chart
                .configure_mesh()
                .x_desc("step")
                .y_desc("loss (nats/token)")
                .draw()?;
        }
        let s = chart.draw_series(LineSeries::new(train, &BLUE))?;
        if labelled {
            s.label("train")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        }
        chart.draw_series(valid.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
        let s = chart.draw_series(LineSeries::new(valid, RED.stroke_width(2)))?;
        if labelled {
            s.label("valid")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
    }
    std::fs::rename(&tmp, png)?;
    Ok(())
}
