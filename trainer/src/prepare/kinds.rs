//! The kind of a folk tune (reel, jig, hornpipe...) as a style tag (`prepare --tune-kinds`), so
//! that a user can ask the melody model for a reel rather than for a book. Read from the tune's
//! title ("7th Regiment -- Reel", "ACROBAT'S -- HORNPIPE": Ryan's *Mammoth Collection*, and any
//! producer's files named that way) or, for O'Neill's *Music of Ireland* (1903), from the tune's
//! number in the book, whose sections are kinds (`B:"O'Neill's 1163"` in the ABC the MIDI files
//! were made from: tune 1163 is a slip jig whatever its title says).

use midly::{MetaMessage, Smf, TrackEventKind};

/// The sections of O'Neill's *Music of Ireland* (1903), by tune number (first, last, kind), as
/// the book orders its 1,850 tunes. The boundaries agree with the meters and titles of every
/// numbered tune in `../shared/data/midi/folk-oneills`: 6/8 from 701 ("Planxty ..." and
/// "O'Carolan's ..." up to 700), 9/8 from 1116 to 1174, 2/2 from 1176, the first "Hornpipe" in a
/// title at 1556, "... March" from 1801.
const ONEILLS_SECTIONS: [(u32, u32, &str); 8] = [
    (1, 625, "air"),
    (626, 700, "O'Carolan"),
    (701, 1115, "jig"),
    (1116, 1175, "slip jig"),
    (1176, 1550, "reel"),
    (1551, 1750, "hornpipe"),
    (1751, 1800, "set dance"),
    (1801, 1850, "march"),
];

/// A MIDI file's track names (the first is its title, where it was made from ABC) and its text
/// events (the ABC header's `B:` and `N:` fields), in file order. Empty for a file midly cannot
/// read.
pub fn midi_texts(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let Ok(smf) = Smf::parse(bytes) else {
        return (Vec::new(), Vec::new());
    };
    let (mut names, mut texts) = (Vec::new(), Vec::new());
    for track in &smf.tracks {
        for ev in track {
            match ev.kind {
                TrackEventKind::Meta(MetaMessage::TrackName(b)) => names.push(String::from_utf8_lossy(b).into_owned()),
                TrackEventKind::Meta(MetaMessage::Text(b)) => texts.push(String::from_utf8_lossy(b).into_owned()),
                _ => {}
            }
        }
    }
    (names, texts)
}

/// The kind of a tune with these track names and texts: from its number in O'Neill's book where a
/// text gives one, else from the first title that names a kind. `None` when neither says.
pub fn tune_kind(names: &[String], texts: &[String]) -> Option<&'static str> {
    texts
        .iter()
        .find_map(|t| oneills_number(t))
        .and_then(|n| {
            ONEILLS_SECTIONS
                .iter()
                .find(|(a, b, _)| (*a..=*b).contains(&n))
                .map(|s| s.2)
        })
        .or_else(|| names.iter().find_map(|t| kind_in_title(t)))
}

/// The tune number of an ABC header text that gives one: `B:"O'Neill's 1163"`, `N:O'Neill's -
/// 787` (and the corpus's misspelling `O'Nell's`).
fn oneills_number(text: &str) -> Option<u32> {
    let lower = text.to_lowercase();
    let at = ["o'neill's", "o'nell's"]
        .iter()
        .find_map(|k| lower.find(k).map(|i| i + k.len()))?;
    let rest = lower[at..].trim_start_matches([' ', '-', '"', '#']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&n| n >= 1)
}

/// The kind a title names, as a word of it: "Andrew Carey's -- Slipjig" is a slip jig, "Avalanche
/// (Lancashire) -- Clog" a hornpipe (a clog is danced to one), "BELLES OF EDINBORO' -- HIGHLAND
/// FLING" a strathspey (the fling is danced to one). The words after the title's last " -- " or
/// " - " come first (Ryan's puts the kind there), then the whole title: "The Reel Of Bogie" is a
/// reel, "Kitty's Wedding" names none.
fn kind_in_title(title: &str) -> Option<&'static str> {
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let tail = title
        .rsplit_once(" -- ")
        .or_else(|| title.rsplit_once(" - "))
        .map(|(_, t)| t);
    tail.and_then(|t| kind_in_words(&words(t)))
        .or_else(|| kind_in_words(&words(title)))
}

/// The words (a run of them for two-word names) that name a kind in a title, the first that
/// matches winning: "slip jig" before "jig", a set dance before the dances it is made of. Words
/// are split at anything but letters, digits and apostrophes, so "Slip-Jig" is the run "slip",
/// "jig".
const TITLE_KINDS: [(&[&str], &str); 15] = [
    (&["slipjig"], "slip jig"),
    (&["slip", "jig"], "slip jig"),
    (&["set", "dance"], "set dance"),
    (&["long", "dance"], "set dance"),
    (&["hornpipe"], "hornpipe"),
    (&["clog"], "hornpipe"),
    (&["strathspey"], "strathspey"),
    (&["fling"], "strathspey"),
    (&["reel"], "reel"),
    (&["jig"], "jig"),
    (&["march"], "march"),
    (&["quickstep"], "march"),
    (&["polka"], "polka"),
    (&["waltz"], "waltz"),
    (&["mazurka"], "mazurka"),
];

fn kind_in_words(words: &[String]) -> Option<&'static str> {
    TITLE_KINDS
        .iter()
        .find(|(run, _)| {
            words
                .windows(run.len())
                .any(|w| w.iter().zip(*run).all(|(a, b)| a == b))
        })
        .map(|&(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds a tune can be tagged with (the tags `--tune-kinds` writes).
    const KINDS: [&str; 12] = [
        "air",
        "O'Carolan",
        "jig",
        "slip jig",
        "reel",
        "hornpipe",
        "set dance",
        "march",
        "strathspey",
        "polka",
        "waltz",
        "mazurka",
    ];

    fn kind(title: &str, texts: &[&str]) -> Option<&'static str> {
        let texts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        tune_kind(&[title.to_string()], &texts)
    }

    #[test]
    fn ryans_titles_name_their_kind() {
        let ryans = [
            "B:Ryan's Mammoth Collection",
            "N:Similar to Flowing Tide Hornpipe",
            "N:363",
        ];
        assert_eq!(
            kind("7th Regiment -- Reel", &ryans),
            Some("reel"),
            "a note naming another tune is not the title"
        );
        assert_eq!(kind("ACROBAT'S -- HORNPIPE", &[]), Some("hornpipe"));
        assert_eq!(kind("\"CHEESE IT!\" -- REEL.", &[]), Some("reel"));
        assert_eq!(kind("Andrew Carey's -- Slipjig", &[]), Some("slip jig"));
        assert_eq!(kind("Avalanche (Lancashire) -- Clog", &[]), Some("hornpipe"));
        assert_eq!(kind("BELLES OF EDINBORO' -- HIGHLAND FLING", &[]), Some("strathspey"));
        assert_eq!(kind("42d Highland Regiment -- Strathspey", &[]), Some("strathspey"));
        assert_eq!(kind("THE BOYS OF BOCKHILL - JIG", &[]), Some("jig"));
        assert_eq!(kind("NIGHT OF FUN -- JIG., THE", &[]), Some("jig"));
        assert_eq!(kind("Brian Boru's March", &[]), Some("march"));
        // The kind after " -- " wins over a word of the name before it.
        assert_eq!(kind("Reel Street -- Hornpipe", &[]), Some("hornpipe"));
        assert_eq!(kind("Kitty's Wedding", &[]), None);
        assert_eq!(kind("Jigsaw Blues", &[]), None, "a word, not a part of one");
    }

    #[test]
    fn oneills_tunes_take_the_kind_of_their_section() {
        assert_eq!(
            kind("The Enchanted Valley", &["B:\"O'Neill's 1\"", "N:\"Very slow\""]),
            Some("air")
        );
        assert_eq!(kind("Planxty Drury", &["B:\"O'Neill's 691\""]), Some("O'Carolan"));
        assert_eq!(kind("Banish Misfortune.", &["N:O'Neill's - 776"]), Some("jig"));
        // Its title says jig; the book puts it among the slip jigs.
        assert_eq!(kind("Another Jig Will Do!", &["N:O'Neill's - 1163"]), Some("slip jig"));
        assert_eq!(kind("Paddy O'Snap.", &["N:O'Nell's - 1175"]), Some("slip jig"));
        assert_eq!(kind("The Reel Of Bogie", &["B:\"O'Neill's 1449\""]), Some("reel"));
        assert_eq!(
            kind("Greencastle Hornpipe", &["B:\"O'Neill's 1557\""]),
            Some("hornpipe")
        );
        assert_eq!(kind("Hawk's Hornpipe", &["B:\"O'Neill's 1754\""]), Some("set dance"));
        assert_eq!(kind("The White Cockade", &["B:\"O'Neill's 1803\""]), Some("march"));
        // No number: the title decides.
        assert_eq!(
            kind("Fisher's Hornpipe (1st Setting)", &["Z:Transcribed by ..."]),
            Some("hornpipe")
        );
        assert_eq!(kind("Bantry Bay", &[]), None);
        // Beyond the book's 1,850 tunes: the title decides.
        assert_eq!(kind("The Silver Tip", &["B:\"O'Neill's 1901\""]), None);
    }

    #[test]
    fn every_kind_is_listed() {
        for (_, _, k) in ONEILLS_SECTIONS {
            assert!(KINDS.contains(&k), "{k}");
        }
        for t in [
            "a -- slipjig",
            "a -- set dance",
            "a -- hornpipe",
            "a -- fling",
            "a -- reel",
            "a -- jig",
            "a -- march",
            "a -- polka",
            "a -- waltz",
            "a -- mazurka",
        ] {
            assert!(KINDS.contains(&kind_in_title(t).unwrap()), "{t}");
        }
    }

    #[test]
    fn texts_are_read_from_every_track() {
        use midly::{Header, Timing, Track, TrackEvent};
        let ev = |kind| TrackEvent { delta: 0.into(), kind };
        let end = ev(TrackEventKind::Meta(MetaMessage::EndOfTrack));
        let tracks: Vec<Track> = vec![
            vec![ev(TrackEventKind::Meta(MetaMessage::Text(b"note track"))), end],
            vec![
                ev(TrackEventKind::Meta(MetaMessage::TrackName(b"7th Regiment -- Reel"))),
                ev(TrackEventKind::Meta(MetaMessage::Text(b"N:363"))),
                end,
            ],
        ];
        let smf = Smf {
            header: Header::new(midly::Format::Parallel, Timing::Metrical(480.into())),
            tracks,
        };
        let mut bytes = Vec::new();
        smf.write_std(&mut bytes).unwrap();
        let (names, texts) = midi_texts(&bytes);
        assert_eq!(names, ["7th Regiment -- Reel"]);
        assert_eq!(texts, ["note track", "N:363"]);
        assert_eq!(tune_kind(&names, &texts), Some("reel"));
        assert_eq!(midi_texts(b"not a MIDI file"), (Vec::new(), Vec::new()));
    }
}
