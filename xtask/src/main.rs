//! `cargo xtask`: nice-plug's bundler, plus the ONNX Runtime shared library the `models` runtime
//! loads (from the PyPI wheel, since only package registries are reachable), copied beside the
//! plugin binaries, and release archives.
//!
//! Files are chosen by the *target* (`--target <triple>`, else the machine xtask runs on):
//!
//! - `cargo xtask ort [--target T]` installs the library into `target/onnxruntime/` (no target) or
//!   `target/onnxruntime/T/`.
//! - `cargo xtask bundle sideman [--release] [--target T]` bundles with nice-plug-xtask into
//!   `target/bundled/` (no target) or `target/bundled/T/` (so a Windows `Sideman.clap`, a single
//!   file as on Linux, never overwrites the Linux one), then copies the library beside the `.clap`
//!   and into every bundle's `Contents/<arch>/` folder.
//! - `cargo xtask release-zip [--target T]` bundles a release build and writes
//!   `target/release-archives/Sideman-<version>-<os>-<arch>.zip`: both bundles, the runtime and
//!   `INSTALL.txt`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// ONNX Runtime version installed (its C API matches ort's `api-31`).
const ORT_VERSION: &str = "1.31.1";
/// Python version whose wheel is fetched for another platform (the library inside is the same for
/// every Python version; pip needs one to pick a wheel).
const CROSS_WHEEL_PYTHON: &str = "3.12";
/// ONNX Runtime's licence and third-party notices in the wheel, and the names `cargo xtask ort`
/// gives them beside the library (release archives carry them).
const ORT_NOTICES: [(&str, &str); 2] = [
    ("onnxruntime/LICENSE", "ONNX-Runtime-LICENSE.txt"),
    (
        "onnxruntime/ThirdPartyNotices.txt",
        "ONNX-Runtime-ThirdPartyNotices.txt",
    ),
];
/// The plugin package that release archives hold, and its bundle name (bundler.toml).
const PLUGIN_PACKAGE: &str = "sideman";
const PLUGIN_NAME: &str = "Sideman";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The target directory (`CARGO_TARGET_DIR` when set, as nice-plug's bundler uses it).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Linux,
    Mac,
    Windows,
}

/// What files are built for: an explicit `--target` triple, or the machine xtask runs on.
#[derive(Debug, Clone)]
struct Target {
    /// The `--target` triple; `None` for a native build (cargo's `target/<profile>/`).
    triple: Option<String>,
    os: Os,
    /// `x86_64` or `aarch64`.
    arch: &'static str,
}

impl Target {
    /// The machine xtask runs on (xtask is always built for it).
    fn native() -> Target {
        let os = if cfg!(target_os = "windows") {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Mac
        } else {
            Os::Linux
        };
        let arch = if cfg!(target_arch = "aarch64") {
            "aarch64"
        } else {
            "x86_64"
        };
        Target { triple: None, os, arch }
    }

    fn from_triple(triple: &str) -> Result<Target, String> {
        let arch = match triple.split('-').next() {
            Some("x86_64") => "x86_64",
            Some("aarch64") => "aarch64",
            _ => return Err(format!("unsupported target {triple}: x86_64 and aarch64 only")),
        };
        let os = if triple.contains("-windows-") {
            Os::Windows
        } else if triple.contains("-apple-darwin") {
            Os::Mac
        } else if triple.contains("-linux-") {
            Os::Linux
        } else {
            return Err(format!("unsupported target {triple}: Linux, macOS and Windows only"));
        };
        Ok(Target {
            triple: Some(triple.to_string()),
            os,
            arch,
        })
    }

    /// The target named by `--target T` / `--target=T` in `args`, else the native one.
    fn from_args(args: &[String]) -> Result<Target, String> {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--target" {
                let t = it.next().ok_or("--target needs a triple")?;
                return Target::from_triple(t);
            }
            if let Some(t) = a.strip_prefix("--target=") {
                return Target::from_triple(t);
            }
        }
        Ok(Target::native())
    }

    /// The same name as `models::runtime::library_file_name` on that platform (xtask does not
    /// link `models`, which would build ort just to install it).
    fn library_file_name(&self) -> &'static str {
        match self.os {
            Os::Windows => "onnxruntime.dll",
            Os::Mac => "libonnxruntime.dylib",
            Os::Linux => "libonnxruntime.so",
        }
    }

    /// Whether a wheel member is the runtime library for this platform.
    fn is_runtime_member(&self, name: &str) -> bool {
        let Some(file) = name.strip_prefix("onnxruntime/capi/") else {
            return false;
        };
        match self.os {
            Os::Windows => file == "onnxruntime.dll",
            Os::Mac => file.starts_with("libonnxruntime.") && file.ends_with(".dylib"),
            Os::Linux => file.starts_with("libonnxruntime.so"),
        }
    }

    /// pip's `--platform` for this target's wheel; `None` for a native build (pip then picks the
    /// wheel of the machine and the Python running it, as it always did here).
    fn pip_platform(&self) -> Option<&'static str> {
        self.triple.as_ref()?;
        Some(match (self.os, self.arch) {
            (Os::Windows, "aarch64") => "win_arm64",
            (Os::Windows, _) => "win_amd64",
            // pip widens a macOS tag to every older version.
            (Os::Mac, "aarch64") => "macosx_15_0_arm64",
            (Os::Mac, _) => "macosx_15_0_x86_64",
            (Os::Linux, "aarch64") => "manylinux_2_28_aarch64",
            (Os::Linux, _) => "manylinux_2_28_x86_64",
        })
    }

    /// A sub-folder per explicit triple, none for a native build.
    fn subdir(&self, base: PathBuf) -> PathBuf {
        match &self.triple {
            Some(t) => base.join(t),
            None => base,
        }
    }

    /// Where `cargo xtask ort` installs the library for this target.
    fn ort_dir(&self) -> PathBuf {
        self.subdir(target_dir().join("onnxruntime"))
    }

    /// Where the bundles for this target are written.
    fn bundled_dir(&self) -> PathBuf {
        self.subdir(target_dir().join("bundled"))
    }

    /// `windows-x86_64`, `linux-x86_64`, `macos-aarch64`: the platform part of archive names.
    fn archive_platform(&self) -> String {
        let os = match self.os {
            Os::Windows => "windows",
            Os::Mac => "macos",
            Os::Linux => "linux",
        };
        format!("{os}-{}", self.arch)
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

/// The onnxruntime wheel in `cache`, if pip already put one there.
fn cached_wheel(cache: &Path) -> Option<PathBuf> {
    std::fs::read_dir(cache).ok().and_then(|rd| {
        rd.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("onnxruntime-{ORT_VERSION}-")) && n.ends_with(".whl"))
        })
    })
}

/// Installs the library for `target` into its [`Target::ort_dir`] (idempotent). Returns its path.
fn install_ort(target: &Target) -> Result<PathBuf, String> {
    let dest_dir = target.ort_dir();
    let name = target.library_file_name();
    let dest = dest_dir.join(name);
    let stamp = dest_dir.join("VERSION");
    let notices_there = ORT_NOTICES.iter().all(|(_, n)| dest_dir.join(n).is_file());
    if dest.is_file() && notices_there && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == ORT_VERSION) {
        println!("ONNX Runtime {ORT_VERSION} already installed: {}", dest.display());
        return Ok(dest);
    }
    // One wheel cache per platform (a folder may only hold one onnxruntime wheel).
    let cache = target.subdir(target_dir().join("ort-wheel"));
    std::fs::create_dir_all(&cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let wheel = match cached_wheel(&cache) {
        Some(w) => w,
        None => {
            let mut pip = Command::new(python());
            pip.args(["-m", "pip", "download", &format!("onnxruntime=={ORT_VERSION}")])
                .args(["--no-deps", "--only-binary=:all:"]);
            if let Some(platform) = target.pip_platform() {
                println!("downloading onnxruntime=={ORT_VERSION} for {platform} from PyPI with pip");
                pip.args(["--platform", platform, "--python-version", CROSS_WHEEL_PYTHON]);
            } else {
                println!("downloading onnxruntime=={ORT_VERSION} from PyPI with pip");
            }
            run(pip.arg("-d").arg(&cache)).map_err(|e| {
                format!("{e}\nInstall Python 3 with pip, or put the library somewhere and set SIDEMAN_ORT_LIB")
            })?;
            cached_wheel(&cache).ok_or("pip reported success but no wheel was found")?
        }
    };
    std::fs::create_dir_all(&dest_dir).map_err(|e| format!("cannot create {}: {e}", dest_dir.display()))?;
    let file = std::fs::File::open(&wheel).map_err(|e| format!("cannot open {}: {e}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("cannot read {}: {e}", wheel.display()))?;
    let member = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| target.is_runtime_member(n))
        .map(|n| n.into_owned())
        .ok_or_else(|| {
            format!(
                "{} holds no ONNX Runtime library for {:?} {}",
                wheel.display(),
                target.os,
                target.arch
            )
        })?;
    let mut extract = |member: &str, dest: &Path| -> Result<(), String> {
        let tmp = dest.with_extension("tmp");
        let mut src = zip
            .by_name(member)
            .map_err(|e| format!("cannot read {member} in {}: {e}", wheel.display()))?;
        let mut dst = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::io::copy(&mut src, &mut dst).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))
    };
    extract(&member, &dest)?;
    for (in_wheel, file) in ORT_NOTICES {
        extract(in_wheel, &dest_dir.join(file))?;
    }
    std::fs::write(&stamp, format!("{ORT_VERSION}\n")).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    println!("installed {member} -> {}", dest.display());
    match target.os {
        Os::Mac => println!(
            "macOS: the wheel's dylib is used as is; if Gatekeeper blocks it, run `xattr -d com.apple.quarantine {}`",
            dest.display()
        ),
        Os::Windows => println!("Windows: keep {name} beside the plugin (the bundle step copies it)"),
        Os::Linux => {}
    }
    Ok(dest)
}

/// Copies the runtime library beside every bundled plugin binary in `bundled`: beside single-file
/// bundles (`.clap` on Linux and Windows) and into each bundle folder's `Contents/<arch>/`
/// (`x86_64-win`, `x86_64-linux`, `MacOS`).
fn copy_into_bundles(lib: &Path, bundled: &Path, name: &str) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(bundled) else {
        return Ok(());
    };
    let mut targets = vec![bundled.to_path_buf()];
    for e in entries.filter_map(|e| e.ok()) {
        let p = e.path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        if p.is_dir()
            && (ext == "vst3" || ext == "clap")
            && let Ok(arches) = std::fs::read_dir(p.join("Contents"))
        {
            targets.extend(
                arches
                    .filter_map(|a| a.ok())
                    .map(|a| a.path())
                    .filter(|a| a.is_dir() && !a.ends_with("Resources")),
            );
        }
    }
    for t in targets {
        std::fs::copy(lib, t.join(name)).map_err(|e| format!("copying into {}: {e}", t.display()))?;
        println!("copied {name} into {}", t.display());
    }
    Ok(())
}

/// `cargo xtask bundle <package | -p P...> [cargo build options]` for an explicit `--target`:
/// builds, then bundles with nice-plug-xtask into `target/bundled/<triple>/` instead of the
/// shared `target/bundled/` (nice-plug-xtask names bundles by the target, but writes every target
/// to the same folder).
fn bundle_for_target(args: &[String], target: &Target) -> anyhow::Result<()> {
    let Some(triple) = target.triple.as_deref() else {
        return nice_plug_xtask::main_with_args(
            "cargo xtask",
            std::iter::once("bundle".to_string()).chain(args.to_vec()),
        );
    };
    let mut rest = args.iter().cloned().peekable();
    let mut packages = Vec::new();
    while rest.peek().map(String::as_str) == Some("-p") {
        rest.next();
        packages.extend(rest.next());
    }
    if packages.is_empty() {
        packages.extend(rest.next());
    }
    let other: Vec<String> = rest.collect();
    if packages.is_empty() {
        anyhow::bail!("usage: cargo xtask bundle <package> [--release] [--target <triple>]");
    }
    nice_plug_xtask::chdir_workspace_root()?;
    nice_plug_xtask::build(&packages, &other)?;
    let target_dir = target_dir();
    let dest = target.bundled_dir();
    // nice-plug-xtask reads `<dir>/<triple>/<profile>/` and writes `<dir>/bundled/`: give it a
    // staging `<dir>` whose `<triple>` is cargo's.
    let stage = target_dir.join("bundle-stage").join(triple);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    std::fs::create_dir_all(&stage)?;
    link_dir(&target_dir.join(triple), &stage.join(triple))?;
    for p in &packages {
        nice_plug_xtask::bundle(&stage, p, &other, false)?;
    }
    std::fs::create_dir_all(&dest)?;
    for e in std::fs::read_dir(stage.join("bundled"))? {
        let from = e?.path();
        let Some(file_name) = from.file_name() else { continue };
        let to = dest.join(file_name);
        if to.is_dir() {
            std::fs::remove_dir_all(&to)?;
        } else if to.exists() {
            std::fs::remove_file(&to)?;
        }
        std::fs::rename(&from, &to)?;
        println!("bundled {}", to.display());
    }
    std::fs::remove_dir_all(&stage)?;
    if let Some(parent) = stage.parent() {
        let _ = std::fs::remove_dir(parent); // only when empty (another target may be staging)
    }
    Ok(())
}

#[cfg(unix)]
fn link_dir(original: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(original, link)
}

#[cfg(windows)]
fn link_dir(original: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(original, link)
}

/// `INSTALL.txt` of a release archive.
fn install_note(target: &Target, version: &str) -> String {
    let lib = target.library_file_name();
    let where_ = match target.os {
        Os::Windows => format!(
            "VST3: copy the folder {PLUGIN_NAME}.vst3 into C:\\Program Files\\Common Files\\VST3\\\n\
             CLAP: copy {PLUGIN_NAME}.clap and {lib} together into C:\\Program Files\\Common Files\\CLAP\\\n\
             \n\
             {lib} (ONNX Runtime {ORT_VERSION}) must stay beside {PLUGIN_NAME}.clap; the VST3 bundle holds its\n\
             own copy in {PLUGIN_NAME}.vst3\\Contents\\x86_64-win\\. Sideman loads that file only, never another\n\
             onnxruntime.dll on the system. Without it Sideman still loads and plays its built-in Markov\n\
             model, and its status line says \"ONNX Runtime: missing\".\n\
             \n\
             ONNX Runtime needs the Microsoft Visual C++ Redistributable 2015-2022 (x64), which most DAWs\n\
             install. If the status line says onnxruntime.dll cannot be loaded, install vc_redist.x64.exe\n\
             from Microsoft.\n"
        ),
        Os::Mac => format!(
            "VST3: copy {PLUGIN_NAME}.vst3 into ~/Library/Audio/Plug-Ins/VST3/\n\
             CLAP: copy {PLUGIN_NAME}.clap into ~/Library/Audio/Plug-Ins/CLAP/\n\
             \n\
             Each bundle holds {lib} (ONNX Runtime {ORT_VERSION}) in Contents/MacOS/. If macOS blocks\n\
             the downloaded files, run: xattr -dr com.apple.quarantine <the bundle>\n"
        ),
        Os::Linux => format!(
            "VST3: copy the folder {PLUGIN_NAME}.vst3 into ~/.vst3/\n\
             CLAP: copy {PLUGIN_NAME}.clap and {lib} together into ~/.clap/\n\
             \n\
             {lib} (ONNX Runtime {ORT_VERSION}) must stay beside {PLUGIN_NAME}.clap; the VST3 bundle holds its\n\
             own copy in {PLUGIN_NAME}.vst3/Contents/x86_64-linux/.\n"
        ),
    };
    format!(
        "{PLUGIN_NAME} {version} for {platform}\n\
         \n\
         {where_}\n\
         Then rescan plug-ins in your DAW and put {PLUGIN_NAME} on a MIDI track (see the README for\n\
         each DAW). Licences: {PLUGIN_NAME} GPL-3.0-or-later; ONNX Runtime MIT (Microsoft; its licence\n\
         and third-party notices are in licenses/).\n",
        platform = target.archive_platform()
    )
}

/// Adds `path` (a file, or a folder recursively) to `zip` as `name`.
fn zip_add(zip: &mut zip::ZipWriter<std::fs::File>, path: &Path, name: &str) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot add {} to the archive: {e}", path.display());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    if path.is_dir() {
        zip.add_directory(format!("{name}/"), opts.unix_permissions(0o755))
            .map_err(|e| err(&e))?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| err(&e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let child = p
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| err(&"odd file name"))?;
            zip_add(zip, &p, &format!("{name}/{child}"))?;
        }
    } else {
        zip.start_file(name, opts.unix_permissions(0o755))
            .map_err(|e| err(&e))?;
        let mut f = std::fs::File::open(path).map_err(|e| err(&e))?;
        std::io::copy(&mut f, zip).map_err(|e| err(&e))?;
    }
    Ok(())
}

/// `cargo xtask release-zip [--target T]`: a release bundle of the plugin with ONNX Runtime, zipped
/// with an install note into `target/release-archives/`.
fn release_zip(args: &[String]) -> anyhow::Result<PathBuf> {
    let target = Target::from_args(args).map_err(anyhow::Error::msg)?;
    let mut bundle_args = vec![PLUGIN_PACKAGE.to_string(), "--release".to_string()];
    if let Some(t) = &target.triple {
        bundle_args.extend(["--target".to_string(), t.clone()]);
    }
    bundle_for_target(&bundle_args, &target)?;
    let lib = install_ort(&target).map_err(anyhow::Error::msg)?;
    let bundled = target.bundled_dir();
    let name = target.library_file_name();
    copy_into_bundles(&lib, &bundled, name).map_err(anyhow::Error::msg)?;

    let version = env!("CARGO_PKG_VERSION");
    let stem = format!("{PLUGIN_NAME}-{version}-{}", target.archive_platform());
    let out_dir = target_dir().join("release-archives");
    std::fs::create_dir_all(&out_dir)?;
    let out = out_dir.join(format!("{stem}.zip"));
    let tmp = out_dir.join(format!("{stem}.zip.tmp"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&tmp)?);
    let err = anyhow::Error::msg;
    zip.add_directory(format!("{stem}/"), zip::write::SimpleFileOptions::default())?;
    for item in [format!("{PLUGIN_NAME}.vst3"), format!("{PLUGIN_NAME}.clap")] {
        let path = bundled.join(&item);
        if !path.exists() {
            anyhow::bail!("{} is missing after bundling", path.display());
        }
        zip_add(&mut zip, &path, &format!("{stem}/{item}")).map_err(err)?;
    }
    // The runtime beside the `.clap` file (inside the bundles on macOS already).
    if target.os != Os::Mac {
        zip_add(&mut zip, &bundled.join(name), &format!("{stem}/{name}")).map_err(err)?;
    }
    if let Some(ort_dir) = lib.parent() {
        for (_, file) in ORT_NOTICES {
            zip_add(&mut zip, &ort_dir.join(file), &format!("{stem}/licenses/{file}")).map_err(err)?;
        }
    }
    zip.start_file(format!("{stem}/INSTALL.txt"), zip::write::SimpleFileOptions::default())?;
    zip.write_all(install_note(&target, version).replace('\n', "\r\n").as_bytes())?;
    zip.finish()?;
    std::fs::rename(&tmp, &out)?;
    println!("wrote {}", out.display());
    Ok(out)
}

fn fail(e: String) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1);
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ort") => {
            let target = Target::from_args(&args[1..]).unwrap_or_else(|e| fail(e));
            install_ort(&target).unwrap_or_else(|e| fail(e));
            Ok(())
        }
        Some("bundle") => {
            let target = Target::from_args(&args[1..]).unwrap_or_else(|e| fail(e));
            bundle_for_target(&args[1..], &target)?;
            let bundled = target.bundled_dir();
            match install_ort(&target).and_then(|lib| copy_into_bundles(&lib, &bundled, target.library_file_name())) {
                Ok(()) => {}
                Err(e) => eprintln!("warning: ONNX Runtime not bundled: {e}"),
            }
            Ok(())
        }
        Some("release-zip") => {
            release_zip(&args[1..])?;
            Ok(())
        }
        _ => nice_plug_xtask::main(),
    }
}
