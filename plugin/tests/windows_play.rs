//! A built plugin bundle plays: the `.clap` named by `SIDEMAN_CLAP` (scripts/test-windows.sh
//! cross-builds this test for Windows and runs it under Wine on the Windows bundle) plays 8 bars
//! of a ii-V-I with its built-in default model at 120 BPM. Every event is on the 1/12-beat tick
//! grid, every NoteOn is paired, and the ONNX Runtime library loaded into the process is the one
//! beside the `.clap` (found from the plugin's own module, not the host's folder, working
//! directory or `PATH`). Skipped when `SIDEMAN_CLAP` is not set.

#[path = "host/mod.rs"]
mod host;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use host::{Host, OutNote, Transport, chord_off, chord_on, entry_from_file, state_with};
use models::{Chord, ChordQuality};
use serde_json::json;

const SAMPLE_RATE: f64 = 48_000.0;
const TEMPO_BPM: f64 = 120.0;
const BARS: usize = 8;
const BLOCK: u32 = 512;

/// The ii-V-I in C, one chord per bar (the I held for two bars).
fn ii_v_i() -> [Chord; 4] {
    [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(0, ChordQuality::Maj7),
    ]
}

/// Plays the progression from beat 0 in blocks of [`BLOCK`], then one stopped block. Returns
/// every output event with its absolute sample.
fn play(h: &mut Host) -> Vec<(u64, OutNote)> {
    let spb = SAMPLE_RATE * 60.0 / TEMPO_BPM;
    let chords = ii_v_i();
    let mut input = Vec::new();
    for bar in 0..BARS {
        let at = (bar as f64 * 4.0 * spb).round() as u64;
        if bar > 0 {
            input.extend(chord_off(0, chords[(bar - 1) % 4]).into_iter().map(|e| (at, e)));
        }
        input.extend(chord_on(0, chords[bar % 4]).into_iter().map(|e| (at, e)));
    }
    let total = (BARS as f64 * 4.0 * spb).round() as u64;
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos <= total {
        let len = BLOCK;
        let mut t = Transport::at(pos as f64 / spb, TEMPO_BPM);
        t.playing = pos < total;
        let ins: Vec<_> = input
            .iter()
            .filter(|(at, _)| *at >= pos && *at < pos + len as u64)
            .map(|&(at, (_, on, key, vel))| ((at - pos) as u32, on, key, vel))
            .collect();
        out.extend(h.process(len, &t, &ins).into_iter().map(|n| (pos + n.time as u64, n)));
        pos += len as u64;
    }
    out
}

/// Path of the loaded module whose file is named `name` (case-insensitive), if any.
#[cfg(windows)]
fn loaded_module(name: &str) -> Option<PathBuf> {
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    use windows_sys::Win32::System::LibraryLoader::{GetModuleFileNameW, GetModuleHandleW};
    let wide: Vec<u16> = std::ffi::OsStr::new(name).encode_wide().chain([0]).collect();
    // SAFETY: a NUL-terminated UTF-16 name; the handle is not kept past this function.
    let module = unsafe { GetModuleHandleW(wide.as_ptr()) };
    if module.is_null() {
        return None;
    }
    let mut buf = vec![0u16; 32_768];
    // SAFETY: `module` is loaded; `buf` has `buf.len()` writable u16s.
    let n = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
    (n > 0).then(|| PathBuf::from(std::ffi::OsString::from_wide(&buf[..n])))
}

#[cfg(target_os = "linux")]
fn loaded_module(name: &str) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| Path::new(p).file_name().is_some_and(|f| f == name))
        .map(PathBuf::from)
}

#[cfg(not(any(windows, target_os = "linux")))]
fn loaded_module(_name: &str) -> Option<PathBuf> {
    None
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[test]
fn bundle_plays_a_ii_v_i_with_the_default_model() {
    let Some(clap) = std::env::var_os("SIDEMAN_CLAP").map(PathBuf::from) else {
        eprintln!("skipped: set SIDEMAN_CLAP to a built Sideman.clap (scripts/test-windows.sh does)");
        return;
    };
    assert!(clap.is_file(), "{} is not a file", clap.display());
    let lib_name = models::runtime::library_file_name();
    let beside = clap.parent().unwrap().join(lib_name);
    assert!(beside.is_file(), "{} is missing beside the bundle", beside.display());
    // This process must not find the runtime any other way.
    assert!(
        std::env::var_os(models::runtime::ORT_LIB_ENV).is_none(),
        "unset {} for this test",
        models::runtime::ORT_LIB_ENV
    );

    let entry = entry_from_file(&clap);
    // "" = the built-in default model for the role (lead).
    let state = state_with(Path::new(""), &[("seed", json!({"i32": 1}))]);
    let mut h = Host::new(&entry, SAMPLE_RATE, BLOCK, true, Some(&state));
    let t0 = std::time::Instant::now();
    let events = play(&mut h);
    let wall_s = t0.elapsed().as_secs_f64();
    h.close();

    // Every NoteOn paired, nothing left sounding after the stop.
    let mut sounding: HashMap<(u8, u8), u64> = HashMap::new();
    for &(sample, n) in &events {
        if n.on {
            assert!(
                sounding.insert((n.channel, n.key), sample).is_none(),
                "NoteOn of a sounding key: {n:?} at {sample}"
            );
        } else {
            assert!(
                sounding.remove(&(n.channel, n.key)).is_some(),
                "NoteOff without NoteOn: {n:?} at {sample}"
            );
        }
    }
    assert!(sounding.is_empty(), "still sounding after stop: {sounding:?}");
    // On the grid: every event on a tick of the 1/12-beat grid, to the sample.
    let spt = SAMPLE_RATE * 60.0 / TEMPO_BPM / 12.0;
    let stop_sample = (BARS as f64 * 4.0 * SAMPLE_RATE * 60.0 / TEMPO_BPM).round() as u64;
    for &(sample, n) in &events {
        let ticks = sample as f64 / spt;
        assert!(
            (ticks.round() * spt - sample as f64).abs() <= 1.0 || (!n.on && sample >= stop_sample),
            "event off the grid: {n:?} at {sample}"
        );
    }
    let ons = events.iter().filter(|(_, n)| n.on).count();
    assert!(ons >= BARS * 2, "only {ons} notes in {BARS} bars");

    // The runtime the default model ran on is the file beside the bundle.
    let loaded = loaded_module(lib_name);
    eprintln!(
        "played {ons} notes in {BARS} bars at {TEMPO_BPM} BPM ({wall_s:.1} s to render {:.1} s), \
         {} events, all on the grid and paired; {lib_name} loaded from {}",
        BARS as f64 * 4.0 * 60.0 / TEMPO_BPM,
        events.len(),
        loaded
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "nowhere".into())
    );
    if cfg!(any(windows, target_os = "linux")) {
        let loaded = loaded.expect("ONNX Runtime was not loaded: the default model did not run on it");
        assert!(
            same_file(&loaded, &beside),
            "ONNX Runtime loaded from {}, not from beside the plugin ({})",
            loaded.display(),
            beside.display()
        );
    }
}
