//! `.mxl` archives and text encodings: container.xml, its fallback, truncated and damaged
//! archives, files on disk.

use super::*;
use crate::musicxml::{MusicXmlError, read_file, read_file_with_report, read_musicxml};

fn example() -> String {
    melody(vec![format!("{}{}{}", attrs(1, 2, 4), n("C4", 1), n("E4", 1))])
}

#[test]
fn mxl_is_read_through_container_xml() {
    let xml = example();
    let plain = read(&xml);
    let file = read_musicxml_with_report(&mxl(&xml)).unwrap();
    assert_eq!(file.piece, plain);
    assert!(file.report.is_clean());
    // The container names the score among other XML entries.
    let decoy = melody(vec![n("G4", 4)]);
    let container = "<container><rootfiles><rootfile full-path=\"scores/real.musicxml\"/>\
                     <rootfile full-path=\"cover.pdf\" media-type=\"application/pdf\"/></rootfiles></container>";
    let archive = zip(&[
        ("META-INF/container.xml", container.as_bytes()),
        ("decoy.xml", decoy.as_bytes()),
        ("scores/real.musicxml", xml.as_bytes()),
    ]);
    assert_eq!(read_musicxml(&archive).unwrap(), plain);
}

#[test]
fn an_unusable_container_falls_back_to_the_score_entry_and_says_so() {
    let xml = example();
    // As some OpenEWLD files have it: an apostrophe inside a single-quoted attribute.
    let broken = "<?xml version='1.0' encoding='UTF-8'?><container><rootfiles>\
                  <rootfile full-path='I'm Always Chasing Rainbows.xml'/></rootfiles></container>";
    let archive = zip(&[
        ("META-INF/container.xml", broken.as_bytes()),
        ("I'm Always Chasing Rainbows.xml", xml.as_bytes()),
    ]);
    let file = read_musicxml_with_report(&archive).unwrap();
    assert_eq!(file.piece, read(&xml));
    let why = file.report.container_fallback.as_deref().unwrap();
    assert!(
        why.starts_with("META-INF/container.xml is not well-formed XML"),
        "{why}"
    );
    assert!(file.report.warning().unwrap().contains("the score found by its name"));
    // A container naming a missing entry, and no container at all.
    let missing = "<container><rootfiles><rootfile full-path=\"gone.xml\"/></rootfiles></container>";
    let archive = zip(&[
        ("META-INF/container.xml", missing.as_bytes()),
        ("s.musicxml", xml.as_bytes()),
    ]);
    let file = read_musicxml_with_report(&archive).unwrap();
    assert_eq!(
        file.report.container_fallback.as_deref(),
        Some("it names \"gone.xml\", which the archive lacks")
    );
    let archive = zip(&[("s.XML", xml.as_bytes())]);
    assert!(read_musicxml(&archive).is_ok());
    // No score at all.
    let archive = zip(&[("META-INF/container.xml", missing.as_bytes()), ("notes.txt", b"hello")]);
    let e = read_musicxml(&archive).unwrap_err();
    assert!(matches!(e, MusicXmlError::NoScoreInArchive { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the .mxl archive holds no MusicXML score (it names \"gone.xml\", which the archive lacks, \
         and no .musicxml or .xml entry)"
    );
}

#[test]
fn truncated_or_damaged_mxl_is_an_error_not_a_panic() {
    let archive = mxl(&example());
    // Every cut is an error (a zip archive's directory is at its end).
    for len in 0..archive.len() {
        let r = read_musicxml(&archive[..len]);
        assert!(r.is_err(), "a cut at {len} of {} read", archive.len());
    }
    let e = read_musicxml(&archive[..archive.len() - 10]).unwrap_err();
    assert!(matches!(e, MusicXmlError::Archive { .. }), "{e:?}");
    assert_eq!(
        crate::error::chain(&e).split(": ").next(),
        Some("the .mxl archive cannot be read")
    );
    // Damage anywhere: an error or (where the damage is harmless) the piece, never a panic.
    for i in 0..archive.len() {
        let mut bad = archive.clone();
        bad[i] ^= 0x5A;
        let _ = read_musicxml(&bad);
    }
    // Damaged deflate data of the score: the entry cannot be read.
    let pos = archive
        .windows(14)
        .position(|w| w == b"score.musicxml")
        .expect("the local header names the score");
    let mut bad = archive.clone();
    for b in &mut bad[pos + 14..pos + 40] {
        *b = !*b;
    }
    let e = read_musicxml(&bad).unwrap_err();
    assert!(
        matches!(e, MusicXmlError::ArchiveEntry { .. } | MusicXmlError::Archive { .. }),
        "{e:?}"
    );
}

#[test]
fn text_encodings_and_what_is_not_a_score() {
    let xml = example();
    let plain = read(&xml);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(xml.as_bytes());
    assert_eq!(read_musicxml(&bom).unwrap(), plain);
    for le in [true, false] {
        let mut bytes = if le { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
        for u in xml.replace("UTF-8", "UTF-16").encode_utf16() {
            bytes.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        assert_eq!(read_musicxml(&bytes).unwrap(), plain);
    }
    let latin = xml.replace("UTF-8", "ISO-8859-1").replace("Melody", "M\u{e9}lodie");
    let bytes: Vec<u8> = latin.chars().map(|c| c as u8).collect();
    assert_eq!(read_musicxml(&bytes).unwrap().tracks[0].name, "M\u{e9}lodie");

    let err = |bytes: &[u8]| read_musicxml(bytes).unwrap_err();
    assert!(matches!(err(b"\xFF\xFE\x00"), MusicXmlError::NotText));
    assert!(matches!(err(b"<a>\xFF</a>"), MusicXmlError::NotText));
    assert!(matches!(err(b"<score-partwise><part"), MusicXmlError::Xml { .. }));
    let e = err(b"<html><body/></html>");
    assert_eq!(e.to_string(), "not a MusicXML score: the root element is <html>");
    assert!(matches!(err(b"<score-partwise/>"), MusicXmlError::NoParts));
    let rests = melody(vec![rest(4)]);
    assert!(matches!(err(rests.as_bytes()), MusicXmlError::NoNotes));
    let long = melody(vec![format!("{}{}", attrs(1, 4, 4), n("C4", 300))]);
    let e = err(long.as_bytes());
    assert_eq!(e.to_string(), "measure 1 lasts 300 beats, over the limit of 255");
    // Entities the DTD does not define are an XML error, not a panic.
    assert!(matches!(
        err(b"<score-partwise>&nbsp;</score-partwise>"),
        MusicXmlError::Xml { .. }
    ));
}

#[test]
fn files_on_disk_name_the_file_in_errors() {
    let dir = std::env::temp_dir().join(format!("sideman-musicxml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("song.mxl");
    std::fs::write(&good, mxl(&example())).unwrap();
    assert_eq!(read_file(&good).unwrap(), read(&example()));
    assert!(read_file_with_report(&good).unwrap().report.is_clean());
    let cut = dir.join("cut.mxl");
    let archive = mxl(&example());
    std::fs::write(&cut, &archive[..archive.len() / 2]).unwrap();
    let e = read_file(&cut).unwrap_err();
    let text = crate::error::chain(&e);
    assert!(
        text.starts_with(&format!("{}: the .mxl archive cannot be read: ", cut.display())),
        "{text}"
    );
    assert!(matches!(e.reason(), MusicXmlError::Archive { .. }));
    let e = read_file(&dir.join("none.musicxml")).unwrap_err();
    assert!(matches!(e, MusicXmlError::Io { .. }));
    assert!(crate::musicxml::is_musicxml_path(&good));
    assert!(crate::musicxml::is_musicxml_path(std::path::Path::new("a/B.MusicXML")));
    assert!(!crate::musicxml::is_musicxml_path(std::path::Path::new("a/b.mid")));
    std::fs::remove_dir_all(&dir).unwrap();
}
