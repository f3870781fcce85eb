//! Finding the score text in an input: `.mxl` archives (`META-INF/container.xml`, with a fallback
//! to the entry's name), and the text encodings a score may use.

use std::io::{Cursor, Read};

use super::{MAX_SCORE_BYTES, MAX_XML_NODES, MusicXmlError, ReadReport};

/// Where an `.mxl` archive says its score is.
pub(super) const CONTAINER_PATH: &str = "META-INF/container.xml";
/// Media type of the MusicXML score in container.xml (a rootfile without one is a score too).
const MUSICXML_MEDIA_TYPE: &str = "application/vnd.recordare.musicxml+xml";
/// Most entries of an archive looked at when searching for a score by its name.
const MAX_ENTRIES_SEARCHED: usize = 10_000;

/// The text of the score in `bytes`: an `.mxl` archive's score, or `bytes` themselves decoded.
pub(super) fn score_text(bytes: &[u8], report: &mut ReadReport) -> Result<String, MusicXmlError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let score = archive_score(bytes, report)?;
        decode_text(&score)
    } else {
        decode_text(bytes)
    }
}

/// The bytes of the score in an `.mxl` archive.
fn archive_score(bytes: &[u8], report: &mut ReadReport) -> Result<Vec<u8>, MusicXmlError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|source| MusicXmlError::Archive { source })?;
    let why = match rootfile(&mut zip)? {
        Ok(path) => match read_entry(&mut zip, &path)? {
            Some(score) => return Ok(score),
            None => format!("it names {path:?}, which the archive lacks"),
        },
        Err(why) => why,
    };
    let by_name = zip
        .file_names()
        .take(MAX_ENTRIES_SEARCHED)
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .filter(|n| !n.starts_with("META-INF/"))
        .find(|n| {
            let lower = n.to_ascii_lowercase();
            lower.ends_with(".musicxml") || lower.ends_with(".xml")
        });
    let Some(name) = by_name else {
        return Err(MusicXmlError::NoScoreInArchive { why });
    };
    report.container_fallback = Some(why);
    read_entry(&mut zip, &name)?.ok_or(MusicXmlError::NoScoreInArchive {
        why: format!("its entry {name:?} cannot be opened"),
    })
}

/// The score's path as container.xml gives it, or why it gives none.
fn rootfile(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<Result<String, String>, MusicXmlError> {
    let Some(bytes) = read_entry(zip, CONTAINER_PATH)? else {
        return Ok(Err(format!("the archive has no {CONTAINER_PATH}")));
    };
    let Ok(text) = decode_text(&bytes) else {
        return Ok(Err(format!("{CONTAINER_PATH} is not text")));
    };
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: MAX_XML_NODES,
        ..Default::default()
    };
    let doc = match roxmltree::Document::parse_with_options(&text, options) {
        Ok(doc) => doc,
        Err(e) => return Ok(Err(format!("{CONTAINER_PATH} is not well-formed XML: {e}"))),
    };
    let path = doc
        .descendants()
        .filter(|n| n.has_tag_name("rootfile"))
        .filter(|n| n.attribute("media-type").is_none_or(|t| t == MUSICXML_MEDIA_TYPE))
        .find_map(|n| n.attribute("full-path"))
        .map(str::to_string);
    Ok(path.ok_or_else(|| format!("{CONTAINER_PATH} names no score")))
}

/// An entry's bytes (at most [`MAX_SCORE_BYTES`]), or `None` when the archive has no such entry.
fn read_entry(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<Vec<u8>>, MusicXmlError> {
    let entry = match zip.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(source) => return Err(MusicXmlError::Archive { source }),
    };
    let mut out = Vec::new();
    entry
        .take(MAX_SCORE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|source| MusicXmlError::ArchiveEntry {
            name: name.to_string(),
            source,
        })?;
    if out.len() as u64 > MAX_SCORE_BYTES {
        return Err(MusicXmlError::TooLarge {
            what: "the score",
            bytes: out.len() as u64,
            limit: MAX_SCORE_BYTES,
        });
    }
    Ok(Some(out))
}

/// Decodes XML text: UTF-8 with or without a BOM; UTF-16 with a BOM or starting with `<`;
/// ISO-8859-1 (also for Windows-1252) when the declaration names it.
pub(super) fn decode_text(bytes: &[u8]) -> Result<String, MusicXmlError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|_| MusicXmlError::NotText);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    if bytes.starts_with(b"<\0") {
        return utf16(bytes, u16::from_le_bytes);
    }
    if bytes.starts_with(b"\0<") {
        return utf16(bytes, u16::from_be_bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) if declares_latin1(bytes) => Ok(bytes.iter().map(|&b| b as char).collect()),
        Err(_) => Err(MusicXmlError::NotText),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, MusicXmlError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(MusicXmlError::NotText);
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| MusicXmlError::NotText)
}

/// Whether the XML declaration at the start of `bytes` names a single-byte Latin encoding.
fn declares_latin1(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(200)];
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return false;
    };
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    ["iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "us-ascii"]
        .iter()
        .any(|e| decl.contains(e))
}
