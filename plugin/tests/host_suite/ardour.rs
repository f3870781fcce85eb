//! A real DAW, headless: Ardour 7 plays the VST3.

use std::collections::HashMap;

use super::host::plugin_file;
use super::model_dir;

/// Finds `ardour7-lua`, installing Debian's Ardour 7 with apt when it is missing. `Err` says why
/// the test cannot run here (no apt, not root).
fn ardour_lua() -> Result<std::path::PathBuf, String> {
    let found = || {
        ["/usr/bin/ardour7-lua", "/usr/local/bin/ardour7-lua"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file())
    };
    if let Some(p) = found() {
        return Ok(p);
    }
    let apt = std::path::Path::new("/usr/bin/apt-get");
    if !apt.is_file() {
        return Err("ardour7-lua is missing and apt-get is not available to install it".into());
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if !root {
        return Err("ardour7-lua is missing and installing it with apt-get needs root".into());
    }
    eprintln!("installing Ardour 7 (apt-get install --no-install-recommends ardour)...");
    let run = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !run(&["install", "-y", "--no-install-recommends", "ardour"]) {
        assert!(run(&["update"]), "apt-get update failed");
        assert!(
            run(&["install", "-y", "--no-install-recommends", "ardour"]),
            "apt-get install ardour failed"
        );
    }
    found().ok_or_else(|| "ardour installed but ardour7-lua not found".into())
}

/// A real DAW, headless: Ardour 7 (Dummy backend) runs Sideman's VST3 as the instrument of a
/// MIDI track; a Lua DSP processor after it records the MIDI, which must be on the tick grid and
/// paired. Uses the debug cdylib (with `assert_process_allocs`) wrapped as a VST3 bundle.
#[test]
fn ardour_plays_the_vst3_headless() {
    let lua = match ardour_lua() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED ardour_plays_the_vst3_headless: {why}");
            return;
        }
    };
    let Some(lib) = plugin_file().filter(|p| p.extension().is_some_and(|e| e == "so")) else {
        eprintln!("SKIPPED ardour_plays_the_vst3_headless: the plugin cdylib (libsideman.so) was not built");
        return;
    };
    let work = std::env::temp_dir().join(format!("sideman-ardour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let home = work.join("home");
    let bundle = home.join(".vst3/Sideman.vst3");
    let arch = format!("{}-linux", std::env::consts::ARCH);
    std::fs::create_dir_all(bundle.join("Contents").join(&arch)).unwrap();
    let so = bundle.join("Contents").join(&arch).join("Sideman.so");
    std::fs::copy(&lib, &so).unwrap();
    // Ardour trusts a scan cache only if it is newer than the module, at one-second resolution:
    // date the module back so a scan in the same second counts.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&so)
        .unwrap()
        .set_modified(past)
        .unwrap();
    let scripts = home.join(".config/ardour7/scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ardour");
    std::fs::copy(here.join("sideman_capture.lua"), scripts.join("sideman_capture.lua")).unwrap();
    let ardour_lib = std::path::Path::new("/usr/lib/ardour7");
    let scan = std::process::Command::new(ardour_lib.join("ardour-vst3-scanner"))
        .arg("-f")
        .arg(&bundle)
        .env("HOME", &home)
        .env("LD_LIBRARY_PATH", ardour_lib)
        .output()
        .expect("run ardour-vst3-scanner");
    assert!(
        scan.status.success(),
        "VST3 scan failed: {}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let out = std::process::Command::new("timeout")
        .arg("180")
        .arg(&lua)
        .arg(here.join("capture.lua"))
        .env("HOME", &home)
        .env("SIDEMAN_MODEL", model_dir())
        .env("SIDEMAN_ARDOUR_SESSION", work.join("session"))
        .env("SIDEMAN_ARDOUR_SECONDS", "8")
        .output()
        .expect("run ardour7-lua");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("Error:"),
        "Lua error: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<(u64, u8, u8, u8)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("EVENT "))
        .map(|l| {
            let v: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            (v[0], v[1] as u8, v[2] as u8, v[3] as u8)
        })
        .collect();
    let spb = 48_000.0 * 60.0 / 120.0; // Ardour's default session tempo
    let mut sounding: HashMap<(u8, u8), u64> = HashMap::new();
    let mut ons = 0;
    for &(sample, status, key, vel) in &events {
        let chan = status & 0x0f;
        match status & 0xf0 {
            0x90 if vel > 0 => {
                ons += 1;
                // In real time the worker starts its session when play starts, so notes due in
                // the first beat may come late (at a block start); after that they are on time.
                if sample as f64 >= spb {
                    let tick = (sample as f64 / spb * 12.0).round();
                    assert_eq!(
                        sample,
                        (tick / 12.0 * spb).round() as u64,
                        "NoteOn off the grid: {sample}"
                    );
                }
                assert!(
                    sounding.insert((chan, key), sample).is_none(),
                    "NoteOn of a sounding key at {sample}"
                );
            }
            // Ardour also resolves notes itself at a stop, so a second NoteOff may follow ours.
            0x80 | 0x90 => {
                sounding.remove(&(chan, key));
            }
            _ => {}
        }
    }
    eprintln!("ardour: {} events, {ons} NoteOns", events.len());
    assert!(ons >= 2, "too few notes from Ardour: {stdout}");
    assert!(sounding.is_empty(), "left sounding in Ardour: {sounding:?}");
    let _ = std::fs::remove_dir_all(&work);
}
