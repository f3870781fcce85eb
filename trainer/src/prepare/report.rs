//! What `trainer prepare` prints, and the licence and provenance of each corpus.

use std::collections::BTreeMap;
use std::path::Path;

use crate::dataset::DatasetManifest;

pub(super) fn licence_of(source: &str) -> (&'static str, &'static str) {
    let s = source.to_ascii_lowercase();
    if s.contains("wjazzd") {
        (
            "ODbL-1.0",
            "Weimar Jazz Database, Jazzomat Research Project (University of Music Franz Liszt Weimar)",
        )
    } else if s.contains("mma") {
        (
            "GPL-2.0-or-later",
            "MMA (Musical MIDI Accompaniment) groove libraries, rendered with mma 21.09",
        )
    } else if s.contains("gmd") || s.contains("groove-midi") || s.contains("groove midi") {
        (
            "CC-BY-4.0",
            "Groove MIDI Dataset v1.0.0 by Google Magenta (Gillick, Roberts, Engel, Eck, Bamman, \
             \"Learning to Groove with Inverse Sequence Transformations\", ICML 2019): human drumming \
             by 10 drummers on a Roland TD-11, with its microtiming and velocities",
        )
    } else if s.contains("bach") {
        ("public domain", "J.S. Bach chorales from the music21 corpus")
    } else if s.contains("folk") || s.contains("oneill") || s.contains("ryan") {
        (
            "public domain",
            "folk tunes (O'Neill's / Ryan's) from the music21 corpus via abc2midi",
        )
    } else if s.contains("lieder") {
        (
            "CC0-1.0",
            "OpenScore Lieder Corpus (MuseScore / OpenScore): art songs for voice and piano, \
             MusicXML engraved by volunteers",
        )
    } else if s.contains("openewld") || s.contains("wikifonia") {
        (
            "public domain",
            "OpenEWLD (Federico Simonetta, 2018, DOI 10.5281/zenodo.4332855): the public-domain lead \
             sheets of the Enhanced Wikifonia Leadsheet Dataset, melody over chord symbols",
        )
    } else {
        ("unknown: see the corpus's README", "user data")
    }
}

/// The kinds of problem a partial file's reason names, for counting: "truncated MIDI read in
/// part, used for what it holds", or one per omission of a MusicXML score with its details taken
/// out (the span between its first and last quote, then between its first and last parenthesis,
/// and its numbers): "MusicXML: jump \"…\" at measure N not expanded".
fn partial_kinds(reason: &str) -> Vec<String> {
    let Some(rest) = reason.strip_prefix("MusicXML read with omissions: ") else {
        return vec!["truncated MIDI read in part, used for what it holds".into()];
    };
    let cut = |s: &str, open: char, close: char, with: &str| match (s.find(open), s.rfind(close)) {
        (Some(a), Some(b)) if a < b => format!("{}{with}{}", &s[..a], &s[b + close.len_utf8()..]),
        _ => s.to_string(),
    };
    rest.split("; ")
        .map(|item| {
            let item = cut(&cut(item, '"', '"', "\"…\""), '(', ')', "(…)");
            let mut out = String::from("MusicXML: ");
            let mut last_digit = false;
            for c in item.chars() {
                let digit = c.is_ascii_digit();
                if !digit {
                    out.push(c);
                } else if !last_digit {
                    out.push('N');
                }
                last_digit = digit;
            }
            out
        })
        .collect()
}

pub(super) fn print_report(out: &Path, m: &DatasetManifest, notes: u64, seconds: f64) {
    println!("prepared {}", out.display());
    println!(
        "  files read     {:>9}   skipped {}   partial {}",
        m.files.len(),
        m.skipped.len(),
        m.partial.len()
    );
    let mut kinds: BTreeMap<String, (usize, &str)> = BTreeMap::new();
    for f in &m.partial {
        for kind in partial_kinds(&f.reason) {
            kinds.entry(kind).or_insert((0, &f.path)).0 += 1;
        }
    }
    for (kind, (n, example)) in &kinds {
        println!("    {n:>5} x {kind}   (e.g. {example})");
    }
    let mut reasons: BTreeMap<String, (usize, &str)> = BTreeMap::new();
    for s in &m.skipped {
        // Group by the reason with the file name taken out.
        let key = s.reason.replace(&s.path, "<file>");
        let e = reasons.entry(key).or_insert((0, &s.path));
        e.0 += 1;
    }
    for (reason, (n, example)) in &reasons {
        println!("    {n:>5} x {reason}   (e.g. {example})");
    }
    println!("  notes          {notes:>9}   (generated roles, untransposed)");
    println!("  styles         {:>9}", m.vocab.styles.len());
    println!("  vocabulary     {:>9}   ids ({})", m.vocab.size, m.vocab.version);
    for (split, s) in &m.splits {
        let roles: Vec<String> = s.by_role.iter().map(|(r, n)| format!("{r} {n}")).collect();
        println!(
            "  {:<6} {:>6} pieces {:>8} sequences {:>11} tokens   [{}]",
            split.name(),
            s.pieces,
            s.sequences,
            s.tokens,
            roles.join(", ")
        );
    }
    println!(
        "  tokens/note    {:>9.2}   with chords and input conditioning",
        m.stats.tokens_per_note
    );
    println!(
        "  tokens/note    {:>9.2}   each role alone (MidiTok REMI measured 4.4-4.6)",
        m.stats.solo_tokens_per_note
    );
    println!(
        "  time           {seconds:>8.1}s   (reading and tokenizing {:.1}s)",
        m.stats.seconds
    );
}

#[cfg(test)]
mod tests {
    use super::partial_kinds;

    #[test]
    fn partial_reasons_are_counted_by_kind() {
        assert_eq!(
            partial_kinds("truncated MIDI (track 2 is cut), read 3 notes up to bar 3"),
            vec!["truncated MIDI read in part, used for what it holds"]
        );
        assert_eq!(
            partial_kinds(
                "MusicXML read with omissions: container.xml not used (META-INF/container.xml is not \
                 well-formed XML: expected '=' not ')' at 1:96), the score found by its name; jump \
                 \"D.C. (al Fine)\" at measure 12 not expanded; harmony kinds read as N.C. (\"pedal\" x1, \
                 \"(empty)\" x2); 16 measures padded to the next sixteenth"
            ),
            vec![
                "MusicXML: container.xml not used (…), the score found by its name",
                "MusicXML: jump \"…\" at measure N not expanded",
                "MusicXML: harmony kinds read as N.C. (…)",
                "MusicXML: N measures padded to the next sixteenth",
            ]
        );
    }
}
