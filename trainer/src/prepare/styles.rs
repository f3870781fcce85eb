//! Style tags of a file: from a listing (`styles.json`, a GMD `info.csv`), the folder layout, the
//! file name, or a MusicXML score's own metadata.

use std::collections::BTreeMap;
use std::path::Path;

use models::musicxml::ScoreInfo;

use super::{Input, StyleFrom};

/// The style tags of the Groove MIDI Dataset's `info.csv` (columns drummer, session, id, style,
/// bpm, beat_type, time_signature, midi_filename, ...), by file: the genre (`funk`), the groove
/// when it has one (`neworleans/funk`), the drummer (`drummer3`), and `beat` or `fill`. Another
/// CSV gives no tags.
pub fn gmd_tags(csv: &str) -> BTreeMap<String, Vec<String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').map(str::trim).collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(drummer), Some(style), Some(kind), Some(file)) =
        (col("drummer"), col("style"), col("beat_type"), col("midi_filename"))
    else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let (Some(d), Some(st), Some(k), Some(path)) = (f.get(drummer), f.get(style), f.get(kind), f.get(file)) else {
            continue;
        };
        let mut tags = vec![st.split('/').next().unwrap_or(st).to_string()];
        if st.contains('/') {
            tags.push(st.to_string());
        }
        tags.push(d.to_string());
        tags.push(k.to_string());
        tags.retain(|t| !t.is_empty());
        out.insert(path.to_string(), tags);
    }
    out
}

/// The folders from `root` down to `path`'s folder, at most `depth` of them, underscores read as
/// spaces, joined with ` / `: `Romantic/Chopin,_Frédéric/Keyboard/x.mxl` gives NotaGen's
/// `Period / Composer / Instrumentation` tag "Romantic / Chopin, Frédéric / Keyboard". `None` for
/// a file directly in `root`.
pub fn layout_tag(root: &Path, path: &Path, depth: usize) -> Option<String> {
    let folders = layout_tags(root, path, depth);
    (!folders.is_empty()).then(|| folders.join(" / "))
}

/// The folders from `root` down to `path`'s folder, at most `depth` of them, underscores read as
/// spaces, each its own tag: `Romantic/Chopin,_Frédéric/Keyboard/x.mxl` gives "Romantic",
/// "Chopin, Frédéric" and "Keyboard". Empty for a file directly in `root`.
pub fn layout_tags(root: &Path, path: &Path, depth: usize) -> Vec<String> {
    let Some(rel) = path.strip_prefix(root).ok().and_then(Path::parent) else {
        return Vec::new();
    };
    rel.components()
        .take(depth)
        .map(|c| c.as_os_str().to_string_lossy().replace('_', " ").trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// `tags` followed by the tags `map` gives each of them (a composer's period), in order, each
/// tag once.
pub fn add_mapped_tags(tags: Vec<String>, map: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags.iter().chain(tags.iter().filter_map(|t| map.get(t)).flatten()) {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// The tag of an MMA groove variant from the part of its name after `__`: `intro`
/// (`16Beat2Intro`), `ending` (`16Beat2End`, `CubanGuitarEndSus`) or `groove fill` (`8BeatFill`);
/// `None` for the main groove. An ending is a bar or two and a held last note, an intro a lighter
/// groove: a network told only the family plays every variant as the main groove
/// (models/README.md, "The band bass at calibration").
pub fn groove_variant(variant: &str) -> Option<&'static str> {
    let v = variant.to_lowercase();
    let mut core = v.as_str();
    loop {
        let trimmed = core
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim_end_matches("sus")
            .trim_end_matches("plus");
        if trimmed == core {
            break;
        }
        core = trimmed;
    }
    if v.contains("intro") {
        Some("intro")
    } else if core.ends_with("end") {
        Some("ending")
    } else if core.ends_with("fill") {
        Some("groove fill")
    } else {
        None
    }
}

/// The soloist of a WJazzD melody file `<Performer>_<Title>[-take]_FINAL.csv`, its camel case read
/// as words: `MilesDavis_Airegin_FINAL` gives "Miles Davis", `JJJohnson_Walkin_FINAL` "JJ Johnson".
/// `None` for any other stem.
pub fn wjazzd_performer(stem: &str) -> Option<String> {
    let (performer, _) = stem.strip_suffix("_FINAL")?.split_once('_')?;
    let chars: Vec<char> = performer.chars().collect();
    if chars.is_empty() || !chars.iter().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        // A word starts at a capital after a small letter, or at the last capital of a run that a
        // small letter follows ("JJJohnson": "JJ" then "Johnson").
        let starts = i > 0
            && c.is_ascii_uppercase()
            && (chars[i - 1].is_ascii_lowercase()
                || chars[i - 1].is_ascii_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
        if starts {
            out.push(' ');
        }
        out.push(c);
    }
    Some(out)
}

/// Tags from a score's metadata: its composer, its work title (else its movement title) and its
/// date, each when the score has it.
pub fn score_tags(info: &ScoreInfo) -> Vec<String> {
    [
        info.composer.clone(),
        info.work_title.clone().or_else(|| info.movement_title.clone()),
        info.date.clone(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The style tags of the file at `path` of `input` under `rule`. `score` is the metadata of a
/// MusicXML file.
pub(super) fn styles_of(
    path: &Path,
    input: &Input,
    rule: StyleFrom,
    layout_depth: usize,
    score: Option<&ScoreInfo>,
) -> Vec<String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (family, variant) = match stem.split_once("__") {
        Some((f, v)) => (Some(f.to_string()), groove_variant(v)),
        None => (None, None),
    };
    let is_wjazzd = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let auto = || {
        // A WJazzD solo: the corpus, then its soloist (a player the user can ask for).
        if let Some(performer) = wjazzd_performer(&stem).filter(|_| is_wjazzd) {
            return vec![input.name.clone(), performer];
        }
        let composer = score.and_then(|s| s.composer.clone());
        let mut tags = vec![family.clone().or(composer).unwrap_or_else(|| input.name.clone())];
        tags.extend(variant.map(str::to_string));
        tags
    };
    match rule {
        // A listing (styles.json, a GMD info.csv) first; `manifest` is the older name of `auto`.
        StyleFrom::Auto | StyleFrom::Manifest => {
            let rel = path
                .strip_prefix(&input.root)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned();
            input.styles.get(&rel).cloned().unwrap_or_else(auto)
        }
        StyleFrom::Source => vec![input.name.clone()],
        StyleFrom::Dir => {
            vec![
                path.parent()
                    .and_then(|p| p.file_name())
                    .map_or_else(|| input.name.clone(), |n| n.to_string_lossy().into_owned()),
            ]
        }
        StyleFrom::Filename => vec![family.unwrap_or(stem)],
        StyleFrom::Layout => vec![layout_tag(&input.root, path, layout_depth).unwrap_or_else(|| input.name.clone())],
        StyleFrom::Levels => {
            let tags = layout_tags(&input.root, path, layout_depth);
            if tags.is_empty() {
                vec![input.name.clone()]
            } else {
                tags
            }
        }
        StyleFrom::Score => {
            let tags = score.map(score_tags).unwrap_or_default();
            if tags.is_empty() {
                vec![input.name.clone()]
            } else {
                tags
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_tags_join_folders_in_notagen_form() {
        let root = Path::new("/data/mine");
        let tag = |p: &str, depth| layout_tag(root, &root.join(p), depth);
        assert_eq!(
            tag("Romantic/Chopin,_Frédéric/Keyboard/op9/no2.mxl", 3).as_deref(),
            Some("Romantic / Chopin, Frédéric / Keyboard")
        );
        assert_eq!(
            tag("Gounod,_Charles/6_Mélodies/5_Le_lever/lc1.mxl", 1).as_deref(),
            Some("Gounod, Charles")
        );
        assert_eq!(tag("loose.mxl", 3), None);
        assert_eq!(layout_tag(root, Path::new("/elsewhere/x.mxl"), 3), None);
        assert_eq!(
            layout_tags(root, &root.join("Modern/Satie,_Erik/Piano/gymnopédie.mxl"), 3),
            vec!["Modern", "Satie, Erik", "Piano"]
        );
        assert_eq!(
            layout_tags(root, &root.join("Modern/Satie,_Erik/Piano/gymnopédie.mxl"), 2),
            vec!["Modern", "Satie, Erik"]
        );
        assert!(layout_tags(root, &root.join("loose.mxl"), 3).is_empty());
    }

    #[test]
    fn mma_variants_are_tagged_by_what_they_are() {
        for (name, want) in [
            ("16Beat2", None),
            ("16Beat2Intro", Some("intro")),
            ("TeamTechnoIntroPlus", Some("intro")),
            ("16beat1End", Some("ending")),
            ("CubanGuitarEndSus", Some("ending")),
            ("60sRockEND", Some("ending")),
            ("DescendingJazzSusPlus", None),
            ("8BeatFill", Some("groove fill")),
            ("68MarchFill2", Some("groove fill")),
            ("FrenchWaltz1FillSus", Some("groove fill")),
            ("BluesTripleRSus", None),
        ] {
            assert_eq!(groove_variant(name), want, "{name}");
        }
    }

    #[test]
    fn wjazzd_soloists_are_read_from_the_file_name() {
        for (stem, want) in [
            ("MilesDavis_Airegin_FINAL", Some("Miles Davis")),
            ("JJJohnson_Walkin_FINAL", Some("JJ Johnson")),
            ("JCHigginbotham_Basin_FINAL", Some("JC Higginbotham")),
            ("ColemanHawkins_BodyAndSoul-1_FINAL", Some("Coleman Hawkins")),
            ("SteveColeman_TheOracle-2_FINAL", Some("Steve Coleman")),
            ("Airegin", None),
            ("MilesDavis_Airegin", None),
            ("Miles Davis_Airegin_FINAL", None),
        ] {
            assert_eq!(wjazzd_performer(stem).as_deref(), want, "{stem}");
        }
    }

    #[test]
    fn mapped_tags_follow_the_file_tags_once_each() {
        let map: BTreeMap<String, Vec<String>> = [
            ("Satie, Erik".to_string(), vec!["Modern".to_string()]),
            (
                "Debussy, Claude".to_string(),
                vec!["Modern".to_string(), "French".to_string()],
            ),
            ("Modern".to_string(), vec!["Modern".to_string()]),
        ]
        .into_iter()
        .collect();
        let tags = |t: &[&str]| add_mapped_tags(t.iter().map(|s| s.to_string()).collect(), &map);
        assert_eq!(tags(&["Satie, Erik"]), vec!["Satie, Erik", "Modern"]);
        assert_eq!(
            tags(&["Debussy, Claude", "Satie, Erik"]),
            vec!["Debussy, Claude", "Satie, Erik", "Modern", "French"]
        );
        assert_eq!(tags(&["Modern", "Satie, Erik"]), vec!["Modern", "Satie, Erik"]);
        assert_eq!(tags(&["Schubert, Franz"]), vec!["Schubert, Franz"]);
        assert!(tags(&[]).is_empty());
    }

    #[test]
    fn score_tags_are_composer_work_and_date() {
        let info = ScoreInfo {
            work_title: Some("6 Mélodies".into()),
            movement_title: Some("Le lever".into()),
            composer: Some("Charles Gounod".into()),
            date: Some("1855".into()),
            ..ScoreInfo::default()
        };
        assert_eq!(score_tags(&info), vec!["Charles Gounod", "6 Mélodies", "1855"]);
        let song = ScoreInfo {
            movement_title: Some("Guilty".into()),
            ..ScoreInfo::default()
        };
        assert_eq!(score_tags(&song), vec!["Guilty"]);
        assert!(score_tags(&ScoreInfo::default()).is_empty());
    }
}
