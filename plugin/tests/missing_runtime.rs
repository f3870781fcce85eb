//! Issue D, acceptance 2: without ONNX Runtime the plugin stays loaded, plays the built-in Markov
//! fallback, and its status says why and how to fix it. This test binary points
//! `SIDEMAN_ORT_LIB` at a file that does not exist before anything loads the runtime, so the
//! neural default cannot load in this process (ONNX Runtime is loaded once per process).

#[path = "host/mod.rs"]
mod host;

use std::sync::Arc;
use std::time::Duration;

use host::{Host, Transport, chord_off, chord_on, entry_in_process, progression};
use sideman::channels::{Channels, EngineState, SharedStatus};
use sideman::engine::Engine;
use sideman::params::SidemanParams;

fn without_runtime() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: set once, before any thread of this test binary reads the environment.
        unsafe { std::env::set_var(models::runtime::ORT_LIB_ENV, "/nonexistent/libonnxruntime.so") };
    });
}

#[test]
fn missing_runtime_falls_back_to_markov_and_says_how_to_fix_it() {
    without_runtime();
    let params = Arc::new(SidemanParams::default());
    let status = Arc::new(SharedStatus::default());
    let ch = Channels::new();
    let engine = Engine::spawn(params, status.clone(), ch.from_audio_rx, ch.to_audio_tx).unwrap();
    let t0 = std::time::Instant::now();
    while status.state() != EngineState::Ready && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let notice = status.notice();
    eprintln!("model: {:?}; notice: {notice}", status.model_name());
    assert_eq!(status.state(), EngineState::Ready, "{}", status.last_error());
    assert!(status.model_name().contains("Markov"), "{}", status.model_name());
    assert!(notice.contains("ONNX Runtime"), "{notice}");
    assert!(notice.contains("not found"), "{notice}");
    assert!(notice.contains("cargo xtask ort"), "{notice}");
    drop(engine);
}

#[test]
fn missing_runtime_plugin_keeps_playing_paired_notes() {
    without_runtime();
    let entry = entry_in_process();
    // The default model (no path) at one seed: each instance otherwise draws its own, and over
    // four bars the fallback's count of notes is the seed's (7 at one seed, in logs/ci46d.log).
    let state = host::state_with(std::path::Path::new(""), &[("seed", serde_json::json!({"i32": 1}))]);
    let mut h = Host::new(&entry, 48_000.0, 512, true, Some(&state));
    let spb = 24_000.0;
    let mut on = 0;
    let mut sounding = std::collections::HashSet::new();
    for i in 0..(16.0 * spb / 512.0) as u64 {
        let pos = i * 512;
        let mut t = Transport::at(pos as f64 / spb, 120.0);
        t.playing = i + 1 < (16.0 * spb / 512.0) as u64;
        let bar = (pos as f64 / spb / 4.0).floor() as usize;
        let bar_sample = (bar as f64 * 4.0 * spb) as u64;
        let mut input = Vec::new();
        if bar_sample >= pos && bar_sample < pos + 512 {
            if bar > 0 {
                input.extend(chord_off((bar_sample - pos) as u32, progression()[(bar - 1) % 4]));
            }
            input.extend(chord_on((bar_sample - pos) as u32, progression()[bar % 4]));
        }
        for n in h.process(512, &t, &input) {
            if n.on {
                on += 1;
                assert!(sounding.insert((n.channel, n.key)), "double NoteOn {n:?}");
            } else {
                assert!(sounding.remove(&(n.channel, n.key)), "NoteOff without NoteOn {n:?}");
            }
        }
    }
    h.close();
    eprintln!("the Markov fallback played {on} notes in four bars");
    assert!(on >= 8, "the Markov fallback should have played: {on} notes");
    assert!(sounding.is_empty(), "left sounding: {sounding:?}");
}
