//! Reading and writing files on disk: truncated files, and errors that name the file.

use super::{example_piece, two_tracks};
use crate::midi::{MidiError, read_file, read_file_with_report, write_file};

#[test]
fn truncated_files_on_disk_are_reported_and_errors_keep_their_cause_out_of_the_message() {
    let dir = std::env::temp_dir().join(format!("sideman-midi-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (file, _, second) = two_tracks();
    let cut = dir.join("cut.mid");
    std::fs::write(&cut, &file[..second + 13]).unwrap();
    let (p, r) = read_file_with_report(&cut).unwrap();
    assert!(r.is_partial() && p.note_count() == 3);
    assert_eq!(read_file(&cut).unwrap(), p);
    // The OS error is the source, not part of the message.
    let e = read_file(&dir.join("missing.mid")).unwrap_err();
    assert!(e.to_string().starts_with("cannot read ") && std::error::Error::source(&e).is_some());
    let e = write_file(&p, &cut.join("out.mid")).unwrap_err();
    assert!(
        e.to_string().starts_with("cannot write ") && e.to_string().ends_with("out.mid"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("sideman-midi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.mid");
    let e = read_file(&missing).unwrap_err();
    assert!(e.to_string().contains("missing.mid"), "{e}");
    let bad = dir.join("bad.mid");
    std::fs::write(&bad, b"garbage").unwrap();
    let e = read_file(&bad).unwrap_err();
    assert!(
        e.to_string().contains("bad.mid") && matches!(e.reason(), MidiError::Parse(_)),
        "{e}"
    );
    let good = dir.join("good.mid");
    write_file(&example_piece(), &good).unwrap();
    assert_eq!(read_file(&good).unwrap(), example_piece());
    std::fs::remove_dir_all(&dir).unwrap();
}
