//! Finding the Standard MIDI File bytes in an input: RMID (RIFF) unwrapping, and cutting the input
//! before any header chunk that would make midly panic.

use super::MidiError;

/// The SMF inside `bytes` (unwrapped from an RMID container), cut before any header chunk that
/// would make midly panic.
///
/// midly 0.5.3 reads an SMPTE division by negating its first byte as an `i8`
/// (`primitive.rs:495`), which overflows for 0x80 and panics wherever overflow checks are on
/// (debug builds, tests). Found by the `midi_parse` fuzz target. Such a first header is refused;
/// a later, duplicate one is where midly would stop reading in a release build, so the input is
/// cut there.
pub(super) fn smf_body(bytes: &[u8]) -> Result<&[u8], MidiError> {
    let body = if bytes.starts_with(b"RIFF") {
        rmid_data(bytes)?
    } else {
        bytes
    };
    if !body.starts_with(b"MThd") {
        return Err(MidiError::Parse("not a midi file".into()));
    }
    // Walk the chunks as midly does: 4-byte id, big-endian length, data cut short at the end.
    let mut pos = 0usize;
    while body.len() - pos >= 8 {
        let id = &body[pos..pos + 4];
        let len = u32::from_be_bytes([body[pos + 4], body[pos + 5], body[pos + 6], body[pos + 7]]) as usize;
        let data = &body[pos + 8..body.len().min((pos + 8).saturating_add(len))];
        if id == b"MThd" && data.len() >= 6 && data[4] == 0x80 {
            if pos == 0 {
                return Err(MidiError::Parse("invalid SMPTE frame rate in the header".into()));
            }
            return Ok(&body[..pos]);
        }
        pos += 8 + data.len();
    }
    Ok(body)
}

/// RIFF chunks as (id, data): 4-byte id, little-endian length, data cut short at the end,
/// padded to an even length.
fn riff_chunks(mut raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        if raw.len() < 8 {
            return None;
        }
        let (head, rest) = raw.split_at(8);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let (data, rest) = rest.split_at(rest.len().min(len));
        raw = if len % 2 == 1 && !rest.is_empty() {
            &rest[1..]
        } else {
            rest
        };
        Some((&head[..4], data))
    })
}

/// The `data` chunk of an RMID (RIFF-wrapped MIDI) file, found as midly finds it.
fn rmid_data(bytes: &[u8]) -> Result<&[u8], MidiError> {
    let bad = |why: &str| MidiError::Parse(format!("not an RMID file: {why}"));
    let (id, riff) = riff_chunks(bytes).next().ok_or_else(|| bad("no RIFF chunk"))?;
    if id != b"RIFF" || riff.get(..4) != Some(b"RMID") {
        return Err(bad("no RMID form"));
    }
    riff_chunks(&riff[4..])
        .find(|(id, _)| *id == b"data")
        .map(|(_, d)| d)
        .ok_or_else(|| bad("no data chunk"))
}
