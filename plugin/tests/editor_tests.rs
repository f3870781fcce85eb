//! The editor rendered for real, headless: an X server (Xvfb, installed with apt when missing),
//! an X11 window standing in for the host's, Sideman's GUI embedded in it through CLAP's `gui`
//! extension by the clack-host test host, a ii-V-I played through the host with the default lead
//! model, then a screenshot of the window (X11 `GetImage` -> PNG) that must not be blank and must
//! show notes in both roll colours; then one at the minimum size, where the roll must still show
//! the generated notes (the controls scroll instead of squeezing it out).
//!
//! `SIDEMAN_UPDATE_SCREENSHOT=1` also writes it to `docs/editor.png` (the README's picture).
//!
//! This binary holds one test: it sets `DISPLAY` for the process.

mod host;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host::{Host, Transport, chord_off, chord_on, entry_in_process};
use models::{Chord, ChordQuality};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConfigureWindowAux, ConnectionExt as _, CreateWindowAux, ImageFormat, WindowClass};

/// Debian packages the test needs: the X server, Mesa's software OpenGL, and the X libraries
/// baseview loads at run time.
const PACKAGES: &[&str] = &[
    "xvfb",
    "libgl1-mesa-dri",
    "libglx-mesa0",
    "libegl-mesa0",
    "libx11-xcb1",
    "libxcursor1",
    "libxkbcommon-x11-0",
];

/// Libraries that must be there besides `Xvfb` (looked up in the usual multiarch folders).
const LIBRARIES: &[&str] = &["libX11-xcb.so.1", "libGL.so.1", "libxkbcommon-x11.so.0", "libxcb.so.1"];

fn library_present(name: &str) -> bool {
    let arch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [arch.as_str(), "/usr/lib", "/lib", "/usr/lib64"]
        .iter()
        .any(|d| Path::new(d).join(name).exists())
}

/// Finds `Xvfb` and the libraries, installing them with apt when missing. `Err` says why the
/// test cannot run here.
fn ensure_xvfb() -> Result<PathBuf, String> {
    let found = || {
        ["/usr/bin/Xvfb", "/usr/local/bin/Xvfb"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .filter(|_| LIBRARIES.iter().all(|l| library_present(l)))
    };
    if let Some(p) = found() {
        return Ok(p);
    }
    if !Path::new("/usr/bin/apt-get").is_file() {
        return Err("Xvfb or the X/GL libraries are missing and apt-get is not available to install them".into());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if !root {
        return Err("Xvfb or the X/GL libraries are missing and installing them with apt-get needs root".into());
    }
    eprintln!("installing {} with apt-get...", PACKAGES.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(PACKAGES);
    if !apt(&install) {
        assert!(apt(&["update"]), "apt-get update failed");
        assert!(apt(&install), "apt-get install {} failed", PACKAGES.join(" "));
    }
    found().ok_or_else(|| "installed, but Xvfb or a library is still missing".into())
}

/// An X server of our own, killed when dropped.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start(bin: &Path) -> Result<Xvfb, String> {
        let mut child = Command::new(bin)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1600x1200x24",
                "-nolisten",
                "tcp",
                "+extension",
                "GLX",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if !line.trim().is_empty() => Ok(Xvfb {
                child,
                display: format!(":{}", line.trim()),
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err("Xvfb did not report its display".into())
            }
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An RGB screenshot.
struct Shot {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Shot {
    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Pixels within `tolerance` (per channel) of `colour` in the rows `rows`.
    fn count_near(&self, colour: [u8; 3], tolerance: u8, rows: std::ops::Range<usize>) -> usize {
        let mut n = 0;
        for y in rows {
            for x in 0..self.width {
                let p = self.pixel(x, y);
                if (0..3).all(|c| p[c].abs_diff(colour[c]) <= tolerance) {
                    n += 1;
                }
            }
        }
        n
    }

    fn write_png(&self, path: &Path) {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        let file = std::fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&self.rgb).unwrap();
    }
}

/// Grabs the pixels of `window` (and what is drawn in it by its children of the same depth).
fn grab(conn: &impl Connection, window: u32) -> Shot {
    let geo = conn.get_geometry(window).unwrap().reply().unwrap();
    let (w, h) = (geo.width as usize, geo.height as usize);
    let img = conn
        .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, geo.width, geo.height, !0)
        .unwrap()
        .reply()
        .unwrap();
    let bpp = conn
        .setup()
        .pixmap_formats
        .iter()
        .find(|f| f.depth == img.depth)
        .map_or(32, |f| f.bits_per_pixel as usize);
    assert_eq!(bpp, 32, "expected 32 bits per pixel at depth {}", img.depth);
    let stride = img.data.len() / h;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let i = y * stride + x * 4;
            // LSB first: blue, green, red, unused.
            rgb.extend_from_slice(&[img.data[i + 2], img.data[i + 1], img.data[i]]);
        }
    }
    Shot {
        width: w,
        height: h,
        rgb,
    }
}

fn colour(c: egui::Color32) -> [u8; 3] {
    [c.r(), c.g(), c.b()]
}

/// The ii-V-I the README's screenshot shows: Dm7 G7 Cmaj7 Cmaj7, a chord per bar with the bass
/// root, as the host delivers it.
fn ii_v_i(bar: usize) -> Chord {
    [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(0, ChordQuality::Maj7),
    ][bar % 4]
}

/// Saves the state until its `editor-state` holds `width` x `height` (the window thread reports
/// a resize asynchronously); returns that state.
fn wait_for_saved_size(h: &mut Host, width: u32, height: u32) -> Vec<u8> {
    let t0 = Instant::now();
    loop {
        h.pump_main_thread();
        let state = h.save_state();
        let json: serde_json::Value = serde_json::from_slice(&state[8..]).expect("state JSON");
        let prefs: serde_json::Value = json["fields"]["editor-state"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        if prefs["width"] == width && prefs["height"] == height {
            return state;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the new window size was not saved: {prefs}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn editor_renders_a_ii_v_i_under_xvfb() {
    let bin = match ensure_xvfb() {
        Ok(p) => p,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the editor test cannot run in CI: {why}"
            );
            eprintln!("SKIPPED editor_renders_a_ii_v_i_under_xvfb: {why}");
            return;
        }
    };
    let server = Xvfb::start(&bin).expect("start Xvfb");
    // SAFETY: this binary's only test sets the variables before any thread of its own reads the
    // environment (the plugin's threads start later, in Host::new).
    unsafe {
        std::env::set_var("DISPLAY", &server.display);
        std::env::set_var("LIBGL_ALWAYS_SOFTWARE", "1");
    }
    let neural = models::runtime::is_available();
    if !neural {
        eprintln!("note: ONNX Runtime not found: the screenshot shows the Markov fallback, not the default lead model");
    }

    let (conn, screen_num) = x11rb::connect(Some(&server.display)).expect("connect to Xvfb");
    let screen = conn.setup().roots[screen_num].clone();
    let parent = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        screen.root,
        0,
        0,
        1000,
        700,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(screen.black_pixel),
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    // The pointer waits in the far corner of the screen, away from the editor's tooltips.
    conn.warp_pointer(x11rb::NONE, screen.root, 0, 0, 0, 0, 1599, 1199)
        .unwrap();
    conn.flush().unwrap();

    let entry = entry_in_process();
    let (sr, tempo, block) = (48_000.0, 140.0, 512u32);
    // Offline: the host waits for the generator every block, so the notes do not depend on how
    // busy the machine is (the GUI renders in software on the same cores).
    // One seed, so the screenshot shows the same take every run (a new instance draws its own).
    let seeded = host::state_with(Path::new(""), &[("seed", serde_json::json!({"i32": 1}))]);
    let mut h = Host::new(&entry, sr, block, true, Some(&seeded));
    let (w, hgt) = h.open_gui(parent, 1.0).expect("open the GUI");
    eprintln!("GUI open at {w}x{hgt} on {}", server.display);
    assert!(w >= 600 && hgt >= 400, "unexpected editor size {w}x{hgt}");
    conn.configure_window(parent, &ConfigureWindowAux::new().width(w).height(hgt))
        .unwrap();
    conn.flush().unwrap();

    // Eight bars of the ii-V-I at 140 BPM, paced at real time so the roll scrolls as in a DAW.
    let spb = sr * 60.0 / tempo;
    let bars = 8;
    let total = (bars as f64 * 4.0 * spb).round() as u64;
    let t0 = Instant::now();
    let mut pos = 0u64;
    while pos < total {
        let len = (block as u64).min(total - pos) as u32;
        let beat = pos as f64 / spb;
        let mut input = Vec::new();
        let bar_sample = |bar: usize| (bar as f64 * 4.0 * spb).round() as u64;
        for bar in 0..bars {
            let at = bar_sample(bar);
            if at >= pos && at < pos + len as u64 {
                let t = (at - pos) as u32;
                if bar > 0 {
                    input.extend(chord_off(t, ii_v_i(bar - 1)));
                }
                input.extend(chord_on(t, ii_v_i(bar)));
            }
        }
        h.process(len, &Transport::at(beat, tempo), &input);
        h.pump_main_thread();
        pos += len as u64;
        let due = Duration::from_secs_f64(pos as f64 / sr);
        while t0.elapsed() < due {
            h.pump_main_thread();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Let the editor draw the last frames.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_millis(1500) {
        h.pump_main_thread();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!h.gui_closed(), "the editor closed itself");
    let window = conn
        .query_tree(parent)
        .unwrap()
        .reply()
        .unwrap()
        .children
        .first()
        .copied()
        .unwrap_or(parent);
    let shot = grab(&conn, window);
    let out = std::env::temp_dir().join("sideman-editor.png");
    shot.write_png(&out);
    eprintln!("screenshot: {} ({}x{})", out.display(), shot.width, shot.height);
    if std::env::var_os("SIDEMAN_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/editor.png");
        shot.write_png(&docs);
        eprintln!("updated {}", docs.display());
    }
    // At the smallest size the controls wrap onto more rows: a second screenshot to look at.
    let (wm, hm) = sideman::params::EDITOR_MIN_SIZE;
    h.resize_gui(wm, hm).expect("resize the GUI to its minimum");
    wait_for_saved_size(&mut h, wm, hm);
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_millis(1000) {
        h.pump_main_thread();
        std::thread::sleep(Duration::from_millis(10));
    }
    let small = grab(&conn, window);
    let out_small = std::env::temp_dir().join("sideman-editor-min.png");
    small.write_png(&out_small);
    eprintln!(
        "screenshot at the minimum size: {} ({}x{})",
        out_small.display(),
        small.width,
        small.height
    );
    // The controls scroll there rather than squeeze the roll out: it still shows the notes.
    let small_band = small.height * 25 / 100..small.height * 45 / 100;
    let small_generated = small.count_near(colour(sideman::editor::GENERATED_COLOUR), 12, small_band);
    eprintln!("roll at the minimum size: {small_generated} pixels in the generated colour");
    // The user resizes the window: the size is saved with the project...
    let (w2, h2) = (1200, 760);
    h.resize_gui(w2, h2).expect("resize the GUI");
    let saved = wait_for_saved_size(&mut h, w2, h2);
    h.close_gui();
    h.close();
    // ...and a project reopened on a screen at 150 % gets it back, scaled.
    let mut h = Host::new(&entry, sr, block, false, Some(&saved));
    let (w3, h3) = h.open_gui(parent, 1.5).expect("reopen the GUI");
    eprintln!("reopened at {w3}x{h3} (scale 1.5)");
    h.close_gui();
    h.close();
    conn.destroy_window(parent).unwrap();
    conn.flush().unwrap();
    assert_eq!(
        (w3, h3),
        (w2 * 3 / 2, h2 * 3 / 2),
        "the saved size, scaled by the host's 1.5"
    );

    // Not blank: many colours, no colour covering most of the window.
    let mut counts = std::collections::HashMap::new();
    for p in shot.rgb.chunks_exact(3) {
        *counts.entry([p[0], p[1], p[2]]).or_insert(0usize) += 1;
    }
    let pixels = shot.width * shot.height;
    let commonest = counts.values().copied().max().unwrap_or(0);
    eprintln!(
        "{} distinct colours; the commonest covers {:.1}%",
        counts.len(),
        commonest as f64 * 100.0 / pixels as f64
    );
    assert!(counts.len() >= 64, "the screenshot is blank: {} colours", counts.len());
    assert!(commonest * 10 < pixels * 9, "one colour covers over 90% of the window");
    // The roll shows the chords played and the notes generated. It spans the window's width from
    // below the status lines and the roll's legend to above the controls (15-66 % of its height):
    // the lead plays above the chords held, near its top (models/README.md, "The lead over a
    // user's chords"), where a band over the middle had missed it.
    let band = shot.height * 15 / 100..shot.height * 66 / 100;
    let played = shot.count_near(colour(sideman::editor::INPUT_COLOUR), 12, band.clone());
    let generated = shot.count_near(colour(sideman::editor::GENERATED_COLOUR), 12, band);
    eprintln!("roll: {played} pixels in the input colour, {generated} in the generated colour");
    assert!(played >= 200, "the roll shows no input notes ({played} px)");
    assert!(generated >= 200, "the roll shows no generated notes ({generated} px)");
    assert!(
        small_generated >= 50,
        "at the minimum size the roll shows no generated notes ({small_generated} px)"
    );
}
