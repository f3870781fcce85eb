//! `cargo xtask`: nice-plug's bundler, plus `cargo xtask ort`, which installs the ONNX Runtime
//! shared library the `models` runtime loads (from the PyPI wheel, since only package registries
//! are reachable), and copies it beside the plugin binaries after `cargo xtask bundle`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// ONNX Runtime version installed (its C API matches ort's `api-31`).
const ORT_VERSION: &str = "1.31.1";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The same name as `models::runtime::library_file_name` (xtask does not link `models`, which would
/// build ort just to install it).
fn library_file_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        "libonnxruntime.dylib"
    } else {
        "libonnxruntime.so"
    }
}

/// Whether a wheel member is the runtime library for this platform.
fn is_runtime_member(name: &str) -> bool {
    let Some(file) = name.strip_prefix("onnxruntime/capi/") else {
        return false;
    };
    if cfg!(target_os = "windows") {
        file == "onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        file.starts_with("libonnxruntime.") && file.ends_with(".dylib")
    } else {
        file.starts_with("libonnxruntime.so")
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

fn python() -> &'static str {
    if cfg!(target_os = "windows") {
        "python"
    } else {
        "python3"
    }
}

/// Installs the library into `target/onnxruntime/` (idempotent). Returns its path.
fn install_ort() -> Result<PathBuf, String> {
    let root = workspace_root();
    let dest_dir = root.join("target").join("onnxruntime");
    let dest = dest_dir.join(library_file_name());
    let stamp = dest_dir.join("VERSION");
    if dest.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == ORT_VERSION) {
        println!("ONNX Runtime {ORT_VERSION} already installed: {}", dest.display());
        return Ok(dest);
    }
    let cache = root.join("target").join("ort-wheel");
    std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
    let have_wheel = |cache: &Path| {
        std::fs::read_dir(cache).ok().and_then(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("onnxruntime-{ORT_VERSION}-")) && n.ends_with(".whl"))
            })
        })
    };
    let wheel = match have_wheel(&cache) {
        Some(w) => w,
        None => {
            println!("downloading onnxruntime=={ORT_VERSION} from PyPI with pip");
            run(Command::new(python())
                .args([
                    "-m",
                    "pip",
                    "download",
                    &format!("onnxruntime=={ORT_VERSION}"),
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                ])
                .arg(&cache))
            .map_err(|e| {
                format!("{e}\nInstall Python 3 with pip, or put the library somewhere and set SIDEMAN_ORT_LIB")
            })?;
            have_wheel(&cache).ok_or("pip reported success but no wheel was found")?
        }
    };
    // Extract with Python's zipfile (pip needs Python anyway; no zip crate here).
    std::fs::create_dir_all(&dest_dir).map_err(|e| e.to_string())?;
    let script = "import sys, zipfile\n\
z = zipfile.ZipFile(sys.argv[1])\n\
names = [n for n in z.namelist() if n.startswith('onnxruntime/capi/')]\n\
print('\\n'.join(names))\n";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(&wheel)
        .output()
        .map_err(|e| e.to_string())?;
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let member = listing.lines().find(|n| is_runtime_member(n)).ok_or_else(|| {
        format!(
            "{} holds no ONNX Runtime library for this platform ({})",
            wheel.display(),
            std::env::consts::OS
        )
    })?;
    let tmp = dest_dir.join(format!("{}.tmp", library_file_name()));
    let copy = "import sys, zipfile, shutil\n\
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst)\n";
    run(Command::new(python())
        .args(["-c", copy])
        .arg(&wheel)
        .arg(member)
        .arg(&tmp))?;
    std::fs::rename(&tmp, &dest).map_err(|e| e.to_string())?;
    std::fs::write(&stamp, format!("{ORT_VERSION}\n")).map_err(|e| e.to_string())?;
    println!("installed {} -> {}", member, dest.display());
    if cfg!(target_os = "macos") {
        println!(
            "macOS: the wheel's dylib is used as is; if Gatekeeper blocks it, run `xattr -d com.apple.quarantine {}`",
            dest.display()
        );
    }
    if cfg!(target_os = "windows") {
        println!("Windows: keep onnxruntime.dll beside the plugin (the bundle step copies it)");
    }
    Ok(dest)
}

/// Copies the runtime library beside every bundled plugin binary under `<target dir>/bundled/`
/// (the target dir is `CARGO_TARGET_DIR` when set, as nice-plug's bundler uses it).
fn copy_into_bundles(lib: &Path) -> Result<(), String> {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    };
    let bundled = target.join("bundled");
    let Ok(entries) = std::fs::read_dir(&bundled) else {
        return Ok(());
    };
    let name = library_file_name();
    let mut targets = vec![bundled.clone()];
    for e in entries.filter_map(|e| e.ok()) {
        let p = e.path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        if p.is_dir() && (ext == "vst3" || ext == "clap") {
            // Bundle folders: Contents/<arch> (VST3 Linux/Windows) or Contents/MacOS.
            if let Ok(arches) = std::fs::read_dir(p.join("Contents")) {
                targets.extend(
                    arches
                        .filter_map(|a| a.ok())
                        .map(|a| a.path())
                        .filter(|a| a.is_dir() && !a.ends_with("Resources")),
                );
            }
        }
    }
    for t in targets {
        std::fs::copy(lib, t.join(name)).map_err(|e| format!("copying into {}: {e}", t.display()))?;
        println!("copied {name} into {}", t.display());
    }
    Ok(())
}

fn main() -> nice_plug_xtask::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ort") => {
            if let Err(e) = install_ort() {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            Ok(())
        }
        Some("bundle") => {
            nice_plug_xtask::main()?;
            match install_ort().and_then(|lib| copy_into_bundles(&lib)) {
                Ok(()) => {}
                Err(e) => eprintln!("warning: ONNX Runtime not bundled: {e}"),
            }
            Ok(())
        }
        _ => nice_plug_xtask::main(),
    }
}
