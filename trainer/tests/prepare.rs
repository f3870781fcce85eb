//! `trainer prepare` end to end on a small corpus the test writes itself.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use models::music::{Piece, Role};
use models::tokenizer::decode;
use sideman_trainer::dataset::{Dataset, Split};
use sideman_trainer::prepare::{self, DrumMap, PrepareArgs, StyleFrom, Transpose};

fn piece(seed: u8) -> Piece {
    common::groove_piece(seed, 1)
}

/// `prepare` of `input` into `out` as written: styles `auto`, no transposition, no microtiming.
fn plain_args(input: &Path, out: &Path) -> PrepareArgs {
    PrepareArgs {
        inputs: vec![input.display().to_string()],
        out: out.to_path_buf(),
        role: vec![],
        style_from: StyleFrom::Auto,
        style: None,
        transpose: Transpose::None,
        microtiming: false,
        vocab: None,
        drum_map: DrumMap::None,
        layout_depth: 3,
        tag_map: None,
        tune_kinds: false,
        chords: None,
        name_chords: Vec::new(),
    }
}

fn corpus(dir: &Path) -> PathBuf {
    let root = dir.join("grooves");
    std::fs::create_dir_all(&root).unwrap();
    for i in 0..40u8 {
        let family = if i % 2 == 0 { "swing" } else { "bossanova" };
        let bytes = models::midi::write_smf(&piece(i));
        std::fs::write(root.join(format!("{family}__{family}{i}.mid")), bytes).unwrap();
    }
    std::fs::write(root.join("broken.mid"), b"MThd\x00\x00\x00\x06garbage").unwrap();
    std::fs::write(root.join("notes.txt"), b"not a midi file").unwrap();
    root
}

#[test]
fn prepare_splits_by_piece_augments_train_only_and_survives_bad_files() {
    let tmp = std::env::temp_dir().join(format!("sideman-prepare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let root = corpus(&tmp);
    let out = tmp.join("ds");
    let args = PrepareArgs {
        inputs: vec![root.display().to_string()],
        out: out.clone(),
        role: vec![],
        style_from: StyleFrom::Auto,
        style: None,
        transpose: Transpose::AllKeys,
        microtiming: false,
        vocab: None,
        drum_map: DrumMap::None,
        layout_depth: 3,
        tag_map: None,
        tune_kinds: false,
        chords: None,
        name_chords: Vec::new(),
    };
    prepare::run(&args).unwrap();
    let ds = Dataset::open(&out).unwrap();
    let m = &ds.manifest;

    assert_eq!(m.files.len(), 40);
    assert_eq!(m.skipped.len(), 1);
    assert!(m.skipped[0].path.ends_with("broken.mid"), "{:?}", m.skipped);
    assert_eq!(m.vocab.styles, vec!["bossanova".to_string(), "swing".to_string()]);
    assert_eq!(m.roles, vec![Role::Lead, Role::Bass, Role::Comping, Role::Drums]);

    // Every piece is in exactly one split.
    let mut split_of: BTreeMap<&str, Split> = BTreeMap::new();
    for f in &m.files {
        assert!(split_of.insert(&f.piece, f.split).is_none_or(|s| s == f.split));
    }
    // Whatever the folder's name, a small collection gets its validation and test pieces.
    for held in [Split::Valid, Split::Test] {
        let n = split_of.values().filter(|&&s| s == held).count();
        assert!(
            n >= sideman_trainer::dataset::held_out_minimum(split_of.len(), held) && n >= 1,
            "{held:?}: {n} of {} pieces",
            split_of.len()
        );
    }

    for split in Split::ALL {
        let data = ds.load_split(split).unwrap();
        let mut keys: BTreeMap<(u32, Role), BTreeSet<i8>> = BTreeMap::new();
        for (i, r) in data.seqs.iter().enumerate() {
            assert_eq!(m.files[r.file as usize].split, split, "sequence in the wrong split");
            let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
            let seq = decode(&ids).unwrap();
            assert_eq!(seq.role, r.role);
            assert!(seq.ended);
            keys.entry((r.file, r.role)).or_default().insert(r.transpose);
        }
        for ((_, role), ts) in keys {
            let expected = if split == Split::Train && role != Role::Drums {
                12
            } else {
                1
            };
            assert_eq!(ts.len(), expected, "{split:?} {role:?} transpositions {ts:?}");
        }
    }
    let st = &m.stats;
    assert!(st.solo_tokens_per_note > 3.0 && st.solo_tokens_per_note < 5.0, "{st:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn prepare_walks_links_once_skips_what_is_not_a_file_and_fails_when_nothing_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mine");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    for i in 0..6u8 {
        std::fs::write(
            root.join("sub").join(format!("take{i}.mid")),
            models::midi::write_smf(&piece(i)),
        )
        .unwrap();
    }
    // A link back to the folder above: read once, reported, never followed round.
    std::os::unix::fs::symlink(&root, root.join("sub").join("loop")).unwrap();
    // A FIFO named like a MIDI file would block a reader forever.
    let fifo = root.join("x.mid");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    let have_fifo = status.is_ok_and(|s| s.success());
    let args = plain_args;
    let out = tmp.path().join("ds");
    prepare::run(&args(&root, &out)).unwrap();
    let m = Dataset::open(&out).unwrap().manifest;
    assert_eq!(
        m.files.len(),
        6,
        "each file once: {:?}",
        m.files.iter().map(|f| &f.path).collect::<Vec<_>>()
    );
    assert!(m.skipped.iter().any(|s| s.reason.contains("loops")), "{:?}", m.skipped);
    if have_fifo {
        assert!(
            m.skipped
                .iter()
                .any(|s| s.path.ends_with("x.mid") && s.reason.contains("not a regular file")),
            "{:?}",
            m.skipped
        );
    }
    // Nothing readable: an error, and no dataset written.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("a.mid"), b"MThd garbage").unwrap();
    let out2 = tmp.path().join("ds2");
    let err = prepare::run(&args(&bad, &out2)).unwrap_err().to_string();
    assert!(err.contains("no file could be read"), "{err}");
    assert!(!out2.join("manifest.json").exists());
}

/// A folder laid out as the Groove MIDI Dataset (an `info.csv` beside drummer folders): tags from
/// the CSV (genre, genre/groove, drummer, beat or fill), and `--drum-map gmd` folds rim and edge
/// keys into the 9 classes.
#[test]
fn gmd_folders_get_their_tags_and_the_9_class_map() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("gmd");
    let mut csv = String::from("drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,duration,split\n");
    for i in 0..10u8 {
        let dir = root.join(format!("drummer{}", i % 2 + 1)).join("session1");
        std::fs::create_dir_all(&dir).unwrap();
        let (style, kind) = if i % 2 == 0 {
            ("funk", "beat")
        } else {
            ("neworleans/secondline", "fill")
        };
        let name = format!("{i}_{}_{}_{kind}_4-4.mid", style.replace('/', "-"), 90 + i);
        let mut p = piece(i);
        // Rim shots and hi-hat edges, as the TD-11 sends them.
        for t in p.tracks.iter_mut().filter(|t| t.role == Role::Drums) {
            for n in &mut t.notes {
                n.pitch = match n.pitch {
                    38 => 40,
                    42 => 22,
                    k => k,
                };
            }
        }
        std::fs::write(dir.join(&name), models::midi::write_smf(&p)).unwrap();
        csv += &format!(
            "drummer{d},drummer{d}/session1,drummer{d}/session1/{i},{style},{bpm},{kind},4-4,drummer{d}/session1/{name},8.0,train\n",
            d = i % 2 + 1,
            bpm = 90 + i
        );
    }
    std::fs::write(root.join("info.csv"), csv).unwrap();
    let out = tmp.path().join("ds");
    let args = PrepareArgs {
        inputs: vec![root.display().to_string()],
        out: out.clone(),
        role: vec!["drums".into()],
        style_from: StyleFrom::Auto,
        style: None,
        transpose: Transpose::None,
        microtiming: true,
        vocab: None,
        drum_map: DrumMap::Gmd,
        layout_depth: 3,
        tag_map: None,
        tune_kinds: false,
        chords: None,
        name_chords: Vec::new(),
    };
    prepare::run(&args).unwrap();
    let ds = Dataset::open(&out).unwrap();
    let m = &ds.manifest;
    assert_eq!(m.files.len(), 10);
    let f = m.files.iter().find(|f| f.path.contains("1_neworleans")).unwrap();
    assert_eq!(
        f.styles,
        vec!["neworleans", "neworleans/secondline", "drummer2", "fill"]
    );
    for s in ["funk", "drummer1", "beat"] {
        assert!(
            m.vocab.styles.iter().any(|x| x == s),
            "{s} missing from {:?}",
            m.vocab.styles
        );
    }
    for split in Split::ALL {
        let data = ds.load_split(split).unwrap();
        for i in 0..data.seqs.len() {
            let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
            let seq = decode(&ids).unwrap();
            assert!(seq.notes.iter().all(|n| ![40, 22].contains(&n.pitch)), "unmapped keys");
            assert!(seq.notes.iter().any(|n| n.pitch == 38) && seq.notes.iter().any(|n| n.pitch == 42));
        }
    }
}

/// A WJazzD folder (`mcsv_melody/<Performer>_<Title>_FINAL.csv` with its beat track): each solo
/// is tagged with the corpus and its soloist, so a user can ask for a player.
#[test]
fn wjazzd_solos_are_tagged_with_the_corpus_and_the_soloist() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("wjazzd");
    std::fs::create_dir_all(root.join("mcsv_melody")).unwrap();
    std::fs::create_dir_all(root.join("mcsv_beat")).unwrap();
    let mut beats = String::from("onset,duration,period,division,bar,beat,signature,chord,form,chorus_id,bass\n");
    let mut melody = String::from(
        "onset,duration,period,division,bar,beat,tatum,beat_duration,signature,pitch,loud_max,loud_median,phrase_id,phrase_begin,chorus_id,chord,form,idea\n",
    );
    for b in 0..32u32 {
        let chord = ["D-7", "G7", "Cj7", "A7"][(b / 4 % 4) as usize];
        let onset = 1.0 + f64::from(b) * 0.5;
        beats += &format!(
            "{onset},0.5,4,1,{},{},'4/4',{chord},A1,1,{}\n",
            b / 4,
            b % 4 + 1,
            38 + b % 12
        );
        melody += &format!(
            "{onset},0.25,4,2,{},{},1,0.5,,{},0.5,70.0,1,0,1,{chord},A1,\n",
            b / 4,
            b % 4 + 1,
            60 + b % 7
        );
    }
    let solos = [
        ("MilesDavis", "Airegin"),
        ("MilesDavis", "SoWhat"),
        ("JJJohnson", "Walkin"),
        ("SonnyRollins", "Oleo"),
        ("ChetBaker", "Solar"),
        ("LesterYoung", "Lester"),
    ];
    for (player, title) in solos {
        std::fs::write(root.join(format!("mcsv_melody/{player}_{title}_FINAL.csv")), &melody).unwrap();
        std::fs::write(
            root.join(format!("mcsv_beat/{player}_{title}_FINAL_beattrack.csv")),
            &beats,
        )
        .unwrap();
    }
    let out = tmp.path().join("ds");
    prepare::run(&plain_args(&root, &out)).unwrap();
    let m = Dataset::open(&out).unwrap().manifest;
    assert_eq!(m.files.len(), solos.len());
    let styles = |name: &str| m.files.iter().find(|f| f.path.contains(name)).unwrap().styles.clone();
    assert_eq!(styles("MilesDavis_SoWhat"), vec!["wjazzd", "Miles Davis"]);
    assert_eq!(styles("JJJohnson_Walkin"), vec!["wjazzd", "JJ Johnson"]);
    for s in ["wjazzd", "Miles Davis", "Sonny Rollins", "Chet Baker", "Lester Young"] {
        assert!(
            m.vocab.styles.iter().any(|x| x == s),
            "{s} missing from {:?}",
            m.vocab.styles
        );
    }
}

/// A song for voice and piano as MusicXML: the voice sings `pitch`, the piano (two staves)
/// holds a chord, over four bars, with a composer and titles.
fn song(composer: &str, work: &str, title: &str, pitch: &str) -> String {
    let note = |step: &str, octave: u8, staff: u8, chord: bool| {
        let c = if chord { "<chord/>" } else { "" };
        format!(
            "<note>{c}<pitch><step>{step}</step><octave>{octave}</octave></pitch><duration>4</duration>\
             <staff>{staff}</staff></note>"
        )
    };
    let attrs =
        "<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes>";
    let mut voice = String::new();
    let mut piano = String::new();
    for bar in 1..=4 {
        let head = if bar == 1 { attrs } else { "" };
        voice += &format!("<measure number=\"{bar}\">{head}{}</measure>", note(pitch, 5, 1, false));
        let staves = if bar == 1 {
            "<attributes><staves>2</staves></attributes>"
        } else {
            ""
        };
        piano += &format!(
            "<measure number=\"{bar}\">{head}{staves}{}{}<backup><duration>4</duration></backup>{}{}</measure>",
            note("E", 4, 1, false),
            note("G", 4, 1, true),
            note("C", 3, 2, false),
            note("G", 3, 2, true)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><score-partwise version=\"4.0\"><work><work-title>{work}</work-title></work>\
         <movement-title>{title}</movement-title><identification><creator type=\"composer\">{composer}</creator></identification>\
         <part-list><score-part id=\"P1\"><part-name>Voice</part-name><score-instrument id=\"I1\"><instrument-name>Voice</instrument-name>\
         <instrument-sound>voice.vocals</instrument-sound></score-instrument></score-part>\
         <score-part id=\"P2\"><part-name>Piano</part-name></score-part></part-list>\
         <part id=\"P1\">{voice}</part><part id=\"P2\">{piano}</part></score-partwise>"
    )
}

/// A compressed MusicXML archive of `xml`.
fn mxl(xml: &str) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let container = "<container><rootfiles><rootfile full-path=\"score.xml\"/></rootfiles></container>";
    w.start_file("META-INF/container.xml", options).unwrap();
    w.write_all(container.as_bytes()).unwrap();
    w.start_file("score.xml", options).unwrap();
    w.write_all(xml.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// MusicXML folders (`.mxl` in nested folders, plain `.musicxml`) are read like MIDI ones: the
/// piano part is the piano role, tags come from the folder layout or the score, and a truncated
/// `.mxl` or an XML file that is not a score is a skipped file with its reason.
#[test]
fn musicxml_folders_give_piano_parts_tags_and_skipped_files_with_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lieder");
    let songs = [
        (
            "Gounod,_Charles/6_Mélodies/5_Le_lever",
            "Charles Gounod",
            "6 Mélodies",
            "Le lever",
            "G",
        ),
        (
            "Gounod,_Charles/_/Sérénade",
            "Charles Gounod",
            "Sérénade",
            "Sérénade",
            "A",
        ),
        (
            "Schubert,_Franz/Winterreise/1_Gute_Nacht",
            "Franz Schubert",
            "Winterreise",
            "Gute Nacht",
            "F",
        ),
    ];
    for (i, (dir, composer, work, title, pitch)) in songs.iter().enumerate() {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let xml = song(composer, work, title, pitch);
        if i == 2 {
            std::fs::write(dir.join(format!("lc{i}.musicxml")), xml).unwrap();
        } else {
            std::fs::write(dir.join(format!("lc{i}.mxl")), mxl(&xml)).unwrap();
        }
    }
    let cut = mxl(&song("X", "Y", "Z", "C"));
    std::fs::write(root.join("Schubert,_Franz/cut.mxl"), &cut[..cut.len() / 2]).unwrap();
    std::fs::write(root.join("notes.xml"), "<notes><note>not a score</note></notes>").unwrap();
    let args = |style_from, depth, out: &Path| PrepareArgs {
        inputs: vec![root.display().to_string()],
        out: out.to_path_buf(),
        role: vec!["piano".into()],
        style_from,
        style: None,
        transpose: Transpose::None,
        microtiming: false,
        vocab: None,
        drum_map: DrumMap::None,
        layout_depth: depth,
        tag_map: None,
        tune_kinds: false,
        chords: None,
        name_chords: Vec::new(),
    };

    let out = tmp.path().join("layout");
    prepare::run(&args(StyleFrom::Layout, 1, &out)).unwrap();
    let ds = Dataset::open(&out).unwrap();
    let m = &ds.manifest;
    assert_eq!(m.files.len(), 3, "{:?}", m.skipped);
    assert_eq!(m.roles, vec![Role::Piano]);
    assert_eq!(m.vocab.styles, vec!["Gounod, Charles", "Schubert, Franz"]);
    let mut skipped: Vec<(&str, &str)> = m
        .skipped
        .iter()
        .map(|s| (s.path.rsplit('/').next().unwrap(), s.reason.as_str()))
        .collect();
    skipped.sort();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "cut.mxl");
    assert!(skipped[0].1.contains("the .mxl archive cannot be read"), "{skipped:?}");
    assert_eq!(skipped[1].0, "notes.xml");
    assert!(
        skipped[1]
            .1
            .ends_with("not a MusicXML score: the root element is <notes>"),
        "{skipped:?}"
    );
    let lever = m.files.iter().find(|f| f.path.ends_with("lc0.mxl")).unwrap();
    assert_eq!(lever.title.as_deref(), Some("Le lever"));
    assert_eq!(lever.composer.as_deref(), Some("Charles Gounod"));
    assert_eq!(lever.date, None);
    // The piano part alone: 4 bars of a held chord, 4 notes each.
    for split in Split::ALL {
        let data = ds.load_split(split).unwrap();
        for i in 0..data.seqs.len() {
            let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
            let seq = decode(&ids).unwrap();
            assert_eq!(seq.role, Role::Piano);
            assert_eq!(seq.notes.len(), 16);
        }
    }

    // Tags from the score: composer and work title; by default (auto): the composer.
    let out = tmp.path().join("score");
    prepare::run(&args(StyleFrom::Score, 3, &out)).unwrap();
    let m = Dataset::open(&out).unwrap().manifest;
    assert_eq!(
        m.vocab.styles,
        vec![
            "6 Mélodies",
            "Charles Gounod",
            "Franz Schubert",
            "Sérénade",
            "Winterreise"
        ]
    );
    let out = tmp.path().join("auto");
    prepare::run(&args(StyleFrom::Auto, 3, &out)).unwrap();
    let m = Dataset::open(&out).unwrap().manifest;
    assert_eq!(m.vocab.styles, vec!["Charles Gounod", "Franz Schubert"]);

    // Each folder its own tag, and a period for each composer from a tag map: every piece's
    // header carries its composer and its period.
    let map = tmp.path().join("periods.json");
    std::fs::write(
        &map,
        r#"{ "Gounod, Charles": ["Late Romantic"], "Schubert, Franz": ["Early Romantic"] }"#,
    )
    .unwrap();
    let out = tmp.path().join("levels");
    prepare::run(&PrepareArgs {
        tag_map: Some(map),
        ..args(StyleFrom::Levels, 2, &out)
    })
    .unwrap();
    let ds = Dataset::open(&out).unwrap();
    let m = &ds.manifest;
    assert_eq!(
        m.vocab.styles,
        vec![
            "6 Mélodies",
            "Early Romantic",
            "Gounod, Charles",
            "Late Romantic",
            "Schubert, Franz",
            "Winterreise"
        ]
    );
    let tags = |name: &str| {
        let f = m.files.iter().find(|f| f.path.ends_with(name)).unwrap();
        f.styles.clone()
    };
    assert_eq!(tags("lc0.mxl"), vec!["Gounod, Charles", "6 Mélodies", "Late Romantic"]);
    // The `_` set folder is no tag.
    assert_eq!(tags("lc1.mxl"), vec!["Gounod, Charles", "Late Romantic"]);
    assert_eq!(
        tags("lc2.musicxml"),
        vec!["Schubert, Franz", "Winterreise", "Early Romantic"]
    );
    let mut headers = 0;
    for split in Split::ALL {
        let data = ds.load_split(split).unwrap();
        for i in 0..data.seqs.len() {
            let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
            let names: Vec<&str> = decode(&ids)
                .unwrap()
                .styles
                .iter()
                .filter_map(|&s| m.vocab.style_name(s))
                .collect();
            assert!(
                names.contains(&"Late Romantic") || names.contains(&"Early Romantic"),
                "{names:?}"
            );
            headers += 1;
        }
    }
    assert_eq!(headers, 3);
}

/// `--chords`: a folder of grooves without chord symbols, played over one progression (as the MMA
/// grooves are), gives every role the progression, one chord a bar in the piece's own meter; the
/// comping, which otherwise has no harmonic part but itself to hear chords from, gets them too.
#[test]
fn prepare_gives_pieces_without_chords_the_progression_they_were_played_over() {
    use models::music::{Meter, Note};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("grooves");
    std::fs::create_dir_all(&root).unwrap();
    let mut waltz = piece(3);
    waltz.meter = Meter::constant(3, 4);
    for t in &mut waltz.tracks {
        t.notes.retain(|n: &Note| n.start < 12.0);
    }
    for (name, p) in [("swing__a", piece(1)), ("swing__b", piece(2)), ("waltz__c", waltz)] {
        std::fs::write(root.join(format!("{name}.mid")), models::midi::write_smf(&p)).unwrap();
    }
    let comping_chords_named = |chords: Option<&str>, name: &[&str]| {
        let out = tmp.path().join(format!("ds-{}-{}", chords.is_some(), name.len()));
        prepare::run(&PrepareArgs {
            chords: chords.map(str::to_string),
            name_chords: name.iter().map(|r| r.to_string()).collect(),
            ..plain_args(&root, &out)
        })
        .unwrap();
        let ds = Dataset::open(&out).unwrap();
        let mut by_piece = BTreeMap::new();
        for split in Split::ALL {
            let data = ds.load_split(split).unwrap();
            for (i, r) in data.seqs.iter().enumerate() {
                let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
                let seq = decode(&ids).unwrap();
                let file = &ds.manifest.files[r.file as usize];
                let chords: Vec<(f64, String)> = seq
                    .chords
                    .iter()
                    .map(|c| (c.start, c.chord.map_or("NC".into(), |c| c.to_string())))
                    .collect();
                by_piece.insert((file.path.clone(), r.role), chords);
            }
        }
        (ds.manifest.sources[0].provenance.clone(), by_piece)
    };
    let comping_chords = |chords: Option<&str>| comping_chords_named(chords, &[]);
    // Without it, the comping has no chords: nothing but itself and the bass to recognise them from.
    let (_, plain) = comping_chords(None);
    assert!(plain[&("swing__a.mid".to_string(), Role::Comping)].is_empty());
    assert!(!plain[&("swing__a.mid".to_string(), Role::Bass)].is_empty());
    let (provenance, given) = comping_chords(Some("Dm7 G7 Cmaj7 A7"));
    assert!(provenance.contains("Dm7 G7 Cmaj7 A7"), "{provenance}");
    let expect = |bar: f64| {
        vec![
            (0.0, "Dm7".to_string()),
            (bar, "G7".to_string()),
            (2.0 * bar, "Cmaj7".to_string()),
            (3.0 * bar, "A7".to_string()),
        ]
    };
    for role in [Role::Comping, Role::Bass, Role::Lead, Role::Drums] {
        assert_eq!(given[&("swing__a.mid".to_string(), role)], expect(4.0), "{role:?}");
        assert_eq!(given[&("waltz__c.mid".to_string(), role)], expect(3.0), "{role:?}");
    }
    // `--name-chords comping`: the comping's own chords, named beat by beat from it and the
    // bass, for every role of the piece; a given progression still wins.
    let (provenance, named) = comping_chords_named(None, &["comping"]);
    assert!(
        provenance.contains("named beat by beat from the comping"),
        "{provenance}"
    );
    let a = |role| named[&("swing__a.mid".to_string(), role)].clone();
    assert!(!a(Role::Comping).is_empty());
    assert_eq!(a(Role::Comping), a(Role::Bass));
    assert_eq!(a(Role::Comping), a(Role::Lead));
    let (_, both) = comping_chords_named(Some("Dm7 G7 Cmaj7 A7"), &["comping"]);
    assert_eq!(both[&("swing__a.mid".to_string(), Role::Comping)], expect(4.0));
    // A progression that does not parse is refused before anything is read.
    let bad = PrepareArgs {
        chords: Some("Dm7 Xq9".into()),
        ..plain_args(&root, &tmp.path().join("bad"))
    };
    let err = prepare::run(&bad).unwrap_err();
    assert!(format!("{err:#}").contains("Xq9"), "{err:#}");
}

/// `--tune-kinds`: each tune gets the kind its title names beside its other tags, a tune that
/// names none keeps its other tags alone, and without the flag nothing changes.
#[test]
fn prepare_tags_tunes_with_the_kind_their_title_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tunes");
    std::fs::create_dir_all(&root).unwrap();
    let titles = ["ACROBAT'S -- HORNPIPE", "7th Regiment -- Reel", "Kitty's Wedding"];
    for (i, title) in titles.iter().enumerate() {
        let mut p = piece(i as u8);
        p.tracks[0].name = title.to_string();
        std::fs::write(root.join(format!("t{i}.mid")), models::midi::write_smf(&p)).unwrap();
    }
    let styles = |kinds: bool| -> BTreeMap<String, Vec<String>> {
        let out = tmp.path().join(format!("ds-{kinds}"));
        prepare::run(&PrepareArgs {
            tune_kinds: kinds,
            ..plain_args(&root, &out)
        })
        .unwrap();
        let ds = Dataset::open(&out).unwrap();
        ds.manifest
            .files
            .iter()
            .map(|f| (f.path.clone(), f.styles.clone()))
            .collect()
    };
    let with = styles(true);
    assert_eq!(with["t0.mid"], ["tunes", "hornpipe"]);
    assert_eq!(with["t1.mid"], ["tunes", "reel"]);
    assert_eq!(with["t2.mid"], ["tunes"]);
    let without = styles(false);
    assert!(without.values().all(|s| s == &["tunes"]), "{without:?}");
}
