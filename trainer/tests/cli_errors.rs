//! The `trainer` binary on bad input: every error is clear (its causes once each, the flag and its
//! range, "cannot write" for writes), never a panic or a hang, and no user file is ever lost.
//!
//! Each test runs the built binary with a time limit ([`TIMEOUT`]): a run still going after it is
//! killed and fails the test (a FIFO named `x.mid` once blocked `prepare` forever).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{note, track};
use models::music::{Meter, Piece, Role, TempoChange};
use sideman_trainer::dataset::Dataset;

/// Longest a single run of the binary may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary gave.
struct Run {
    /// What was run, for messages.
    args: Vec<String>,
    /// Exit code (`None`: killed by a signal).
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts a clean refusal: a non-zero exit code and no panic.
    fn failed(&self) -> &Self {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "trainer {:?} should fail (exit {:?})\nstdout: {}\nstderr: {}",
            self.args,
            self.code,
            self.stdout,
            self.stderr
        );
        self.no_panic()
    }

    /// Asserts success and no panic.
    fn succeeded(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "trainer {:?} should succeed\nstdout: {}\nstderr: {}",
            self.args,
            self.stdout,
            self.stderr
        );
        self.no_panic()
    }

    fn no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked"),
            "trainer {:?} panicked:\n{}",
            self.args,
            self.stderr
        );
        self
    }

    /// How many times `s` appears in stderr.
    fn count(&self, s: &str) -> usize {
        self.stderr.matches(s).count()
    }
}

/// Runs `trainer args...` in `dir`, killing it (and failing) after [`TIMEOUT`].
fn trainer(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the trainer binary starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for trainer") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("trainer {args:?} still running after {TIMEOUT:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Eight bars of a lead line over piano chords (ii-V-I-VI), as a format 1 file.
fn take_bytes() -> Vec<u8> {
    let roots = [50u8, 55, 48, 57];
    let mut lead = Vec::new();
    let mut piano = Vec::new();
    for bar in 0..8 {
        let b = bar as f64 * 4.0;
        let root = roots[bar % 4];
        for p in [root, root + 3, root + 7, root + 10] {
            piano.push(note(b, 4.0, p));
        }
        for k in 0..6 {
            lead.push(note(b + k as f64 * 0.5 + 1.0, 0.5, 64 + ((bar + k) % 7) as u8));
        }
    }
    models::midi::write_smf(&Piece {
        meter: Meter::default(),
        tempo_map: vec![TempoChange { beat: 0.0, bpm: 120.0 }],
        chords: vec![],
        tracks: vec![
            track("Piano", 1, Role::Piano, piano),
            track("Solo", 0, Role::Lead, lead),
        ],
    })
}

/// What the operating system says when `missing` is opened.
fn os_message(missing: &Path) -> String {
    std::fs::File::open(missing)
        .expect_err("the path is missing")
        .to_string()
}

/// Issue row "errors printed twice": the cause of an error appears once in the chain.
#[test]
fn missing_files_and_packages_give_the_os_message_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = s(&dir.join("out.mid"));
    let package = dir.join("no-such-package");
    let os = os_message(&package);
    let r = trainer(dir, &["generate", &s(&package), "--chords", "Dm7 G7", "--out", &out]);
    r.failed();
    assert_eq!(r.count(&os), 1, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-package"), "{}", r.stderr);

    let r = trainer(dir, &["info", &s(&package)]);
    r.failed();
    assert_eq!(r.count(&os), 1, "{}", r.stderr);

    let take = dir.join("missing.mid");
    let r = trainer(
        dir,
        &["generate", "builtin:markov", "--input", &s(&take), "--out", &out],
    );
    r.failed();
    assert_eq!(r.count(&os), 1, "{}", r.stderr);
    assert_eq!(r.count("missing.mid"), 1, "{}", r.stderr);
    assert!(!dir.join("out.mid").exists());
}

/// Issue row "write failures say cannot read": a failed write says "cannot write <path>", once.
#[test]
fn failed_writes_say_cannot_write_and_name_the_path_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("file.txt"), b"a regular file").unwrap();

    let out = s(&dir.join("file.txt").join("out.mid"));
    let r = trainer(
        dir,
        &[
            "generate",
            "builtin:markov",
            "--chords",
            "Dm7 G7",
            "--bars",
            "2",
            "--out",
            &out,
        ],
    );
    r.failed();
    assert!(r.stderr.contains(&format!("cannot write {out}")), "{}", r.stderr);
    assert_eq!(r.count(&out), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("cannot read"), "{}", r.stderr);
    // The temporary file written first is not worth mentioning.
    assert_eq!(r.count("file.txt"), 1, "{}", r.stderr);

    let input = dir.join("songs");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("take.mid"), take_bytes()).unwrap();
    let ds = s(&dir.join("file.txt").join("ds"));
    let r = trainer(dir, &["prepare", "--input", &s(&input), "--out", &ds]);
    r.failed();
    assert!(r.stderr.contains(&format!("cannot write {ds}")), "{}", r.stderr);
    assert_eq!(r.count(&ds), 1, "{}", r.stderr);
    assert_eq!(std::fs::read(dir.join("file.txt")).unwrap(), b"a regular file");
}

/// Issue row "truncated MIDI": read in part, with one warning naming the file, in `prepare` (and
/// its report and manifest) and in `generate --input`; a complete file gives no warning.
#[test]
fn truncated_midi_is_read_in_part_with_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let input = dir.join("songs");
    std::fs::create_dir_all(&input).unwrap();
    let whole = take_bytes();
    std::fs::write(input.join("whole.mid"), &whole).unwrap();
    let cut = input.join("cut.mid");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();

    let ds = dir.join("ds");
    let r = trainer(dir, &["prepare", "--input", &s(&input), "--out", &s(&ds)]);
    r.succeeded();
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("truncated MIDI")).collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    let w = warnings[0];
    assert!(w.contains(&s(&cut)) && w.contains(" notes up to bar "), "{w}");
    assert!(!r.stderr.contains("whole.mid"), "{}", r.stderr);
    assert!(r.stdout.contains("partial 1"), "{}", r.stdout);
    let m = Dataset::open(&ds).unwrap().manifest;
    assert_eq!(m.files.len(), 2, "the partial file is used");
    assert_eq!(m.partial.len(), 1);
    assert!(m.partial[0].path.ends_with("cut.mid"), "{:?}", m.partial);
    assert!(m.partial[0].reason.starts_with("truncated MIDI ("), "{:?}", m.partial);

    // Several cuts through `generate --input`: a warning each time, never a panic.
    for keep in [whole.len() / 3, whole.len() / 2, whole.len() - 1] {
        std::fs::write(&cut, &whole[..keep]).unwrap();
        let out = dir.join(format!("out{keep}.mid"));
        let r = trainer(
            dir,
            &["generate", "builtin:markov", "--input", &s(&cut), "--out", &s(&out)],
        );
        r.succeeded();
        assert_eq!(r.count("truncated MIDI"), 1, "cut at {keep}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("warning: {}: truncated MIDI (", s(&cut))),
            "{}",
            r.stderr
        );
        assert!(out.is_file());
    }
    let out = dir.join("whole-out.mid");
    let r = trainer(
        dir,
        &[
            "generate",
            "builtin:markov",
            "--input",
            &s(&input.join("whole.mid")),
            "--out",
            &s(&out),
        ],
    );
    r.succeeded();
    assert!(!r.stderr.contains("truncated"), "{}", r.stderr);
}

#[test]
fn generate_never_overwrites_its_input_or_an_existing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let take = dir.join("take.mid");
    let bytes = take_bytes();
    std::fs::write(&take, &bytes).unwrap();
    for force in [false, true] {
        let mut args = vec!["generate", "builtin:markov", "--input", "take.mid", "--out", "take.mid"];
        if force {
            args.push("--force");
        }
        let r = trainer(dir, &args);
        r.failed();
        assert!(r.stderr.contains("also an input"), "{}", r.stderr);
        assert_eq!(std::fs::read(&take).unwrap(), bytes, "the input was changed");
    }
    // The same file by another path.
    let r = trainer(
        dir,
        &[
            "generate",
            "builtin:markov",
            "--input",
            "take.mid",
            "--out",
            "./take.mid",
        ],
    );
    r.failed();
    assert_eq!(std::fs::read(&take).unwrap(), bytes);

    let existing = dir.join("existing.mid");
    std::fs::write(&existing, b"an earlier take").unwrap();
    let args = [
        "generate",
        "builtin:markov",
        "--chords",
        "Dm7 G7",
        "--bars",
        "2",
        "--out",
        "existing.mid",
    ];
    let r = trainer(dir, &args);
    r.failed();
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(std::fs::read(&existing).unwrap(), b"an earlier take");
    let r = trainer(dir, &[&args[..], &["--force"]].concat());
    r.succeeded();
    assert!(
        models::midi::read_file(&existing).is_ok(),
        "--force replaces it with the new file"
    );
}

#[test]
fn generate_refuses_out_of_range_values_naming_the_flag_and_the_range() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cases: &[(&str, &str, &str)] = &[
        ("--tempo", "0", "20-400"),
        ("--tempo", "NaN", "20-400"),
        ("--tempo", "inf", "20-400"),
        ("--tempo", "1e9", "20-400"),
        ("--tempo", "-5", "20-400"),
        ("--bars", "0", "1-2000"),
        ("--bars", "100000", "1-2000"),
        ("--bars", "4294967295", "1-2000"),
        ("--bars", "-3", "1-2000"),
        ("--temperature", "NaN", "above 0 and at most 10"),
        ("--temperature", "0", "above 0 and at most 10"),
        ("--top-p", "5", "above 0 and at most 1"),
        ("--density", "7", "between 0 and 1"),
        ("--density", "-0.5", "between 0 and 1"),
        ("--harmony", "7", "0-4"),
    ];
    for &(flag, value, range) in cases {
        let r = trainer(
            dir,
            &[
                "generate",
                "builtin:markov",
                "--chords",
                "Dm7",
                flag,
                value,
                "--out",
                "out.mid",
            ],
        );
        r.failed();
        let e = &r.stderr;
        assert!(e.contains(flag) && e.contains(range), "{flag} {value}: {e}");
        assert!(!e.contains("-- -"), "{flag} {value}: suggests `--`: {e}");
        assert!(!dir.join("out.mid").exists(), "{flag} {value} wrote a file");
    }
}

#[test]
fn prepare_where_every_file_is_skipped_fails_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let input = dir.join("junk");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("x.mid"), b"not a MIDI file").unwrap();
    let out = dir.join("ds");
    let r = trainer(dir, &["prepare", "--input", &s(&input), "--out", &s(&out)]);
    r.failed();
    assert!(r.stderr.contains("no file could be read"), "{}", r.stderr);
    assert!(r.stderr.contains("x.mid"), "the skipped file is named: {}", r.stderr);
    assert!(!out.exists(), "nothing is written");
}

/// A symbolic link looping back, a FIFO named `x.mid` and a folder nobody may read: every MIDI file
/// is read once, nothing hangs, and what cannot be read is reported as skipped.
#[cfg(unix)]
#[test]
fn prepare_reads_each_file_once_through_loops_fifos_and_unreadable_folders() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = dir.join("mine");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let bytes = take_bytes();
    for i in 0..3 {
        std::fs::write(root.join("sub").join(format!("take{i}.mid")), &bytes).unwrap();
    }
    std::os::unix::fs::symlink(&root, root.join("sub").join("loop")).unwrap();
    let fifo = root.join("x.mid");
    let have_fifo = Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    let locked = root.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::write(locked.join("hidden.mid"), &bytes).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root (and anyone with CAP_DAC_READ_SEARCH) reads it anyway.
    let locked_readable = std::fs::read_dir(&locked).is_ok();

    let out = dir.join("ds");
    let r = trainer(dir, &["prepare", "--input", &s(&root), "--out", &s(&out)]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.succeeded();
    let m = Dataset::open(&out).unwrap().manifest;
    let mut paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    let mut expected = vec!["sub/take0.mid", "sub/take1.mid", "sub/take2.mid"];
    if locked_readable {
        expected.insert(0, "locked/hidden.mid");
    }
    assert_eq!(paths, expected, "each file once");
    let skipped = |path_end: &str, reason: &str| {
        m.skipped
            .iter()
            .any(|s| s.path.ends_with(path_end) && s.reason.contains(reason))
    };
    assert!(skipped("loop", "loops"), "{:?}", m.skipped);
    if have_fifo {
        assert!(skipped("x.mid", "not a regular file"), "{:?}", m.skipped);
    }
    if !locked_readable {
        assert!(skipped("locked", "cannot read"), "{:?}", m.skipped);
        assert!(r.stderr.contains("locked"), "reported: {}", r.stderr);
    }
}
