//! Showing errors to people.
//!
//! The error types of this crate keep their cause out of their own message: it is their
//! [`source`](std::error::Error::source), so that a caller printing the whole chain (`anyhow`'s
//! `{:#}`, or [`chain`]) shows every cause exactly once. A plain `{e}` shows only the outer
//! message ("cannot read take.mid"); use [`chain`] wherever an error becomes text for a person.

/// `e` and every cause below it, joined by `": "` (as `anyhow` prints `{:#}`): "cannot read
/// take.mid: No such file or directory (os error 2)".
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_shows_every_cause_once() {
        let e = crate::midi::MidiError::Io {
            path: "take.mid".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(chain(&e), "cannot read take.mid: gone");
        let e = crate::midi::MidiError::InFile {
            path: "x.mid".into(),
            source: Box::new(crate::midi::MidiError::NoNotes),
        };
        assert_eq!(chain(&e), "x.mid: the file has no notes");
    }
}
