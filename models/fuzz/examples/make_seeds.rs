//! Writes the seed corpora from the project's golden MIDI files (`models/tests/data`):
//! `corpus/midi_parse/<name>.mid`, and for `token_decode` the token ids of every sequence of
//! every golden, two bytes per id as the target reads them; and for `musicxml_parse` the scores
//! below, as plain MusicXML and as `.mxl` archives.
//!
//! Run from `models/fuzz`: `cargo run --example make_seeds`.

use std::io::Write;
use std::path::Path;

use models::Tokenizer;
use models::midi::read_smf;
use models::tokenizer::sequences_from_piece;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("../tests/data");
    let midi_dir = root.join("corpus/midi_parse");
    let token_dir = root.join("corpus/token_decode");
    std::fs::create_dir_all(&midi_dir)?;
    std::fs::create_dir_all(&token_dir)?;
    let mut files: Vec<_> = std::fs::read_dir(&data)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let tokenizer = Tokenizer::default();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "mid")) {
        let bytes = std::fs::read(path)?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("seed");
        std::fs::write(midi_dir.join(format!("{name}.mid")), &bytes)?;
        let piece = read_smf(&bytes)?;
        for seq in sequences_from_piece(&piece, &[], None) {
            let ids = tokenizer.encode(&seq)?;
            let raw: Vec<u8> = ids.iter().flat_map(|&id| (id as u16).to_le_bytes()).collect();
            std::fs::write(token_dir.join(format!("{name}-{}.bin", seq.role)), raw)?;
        }
        println!("seeded from {}", path.display());
    }
    let xml_dir = root.join("corpus/musicxml_parse");
    std::fs::create_dir_all(&xml_dir)?;
    for (name, xml) in [("lieder", LIEDER), ("leadsheet", LEADSHEET), ("timewise", TIMEWISE)] {
        std::fs::write(xml_dir.join(format!("{name}.musicxml")), xml)?;
        std::fs::write(xml_dir.join(format!("{name}.mxl")), mxl(xml)?)?;
        models::musicxml::read_musicxml(xml.as_bytes())?;
        println!("seeded {name}.musicxml and {name}.mxl");
    }
    Ok(())
}

/// An `.mxl` archive of `xml`, named by its container.xml.
fn mxl(xml: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    w.start_file("META-INF/container.xml", options)?;
    w.write_all(b"<container><rootfiles><rootfile full-path=\"s.musicxml\"/></rootfiles></container>")?;
    w.start_file("s.musicxml", options)?;
    w.write_all(xml.as_bytes())?;
    Ok(w.finish()?.into_inner())
}

/// Voice and piano (two staves, two voices), ties, a triplet, grace notes, dynamics, tempo,
/// a repeat with voltas, a D.S. al Coda, a transposing part.
const LIEDER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="4.0"><work><work-title>Seeds</work-title></work>
<identification><creator type="composer">Anon</creator></identification>
<part-list><score-part id="P1"><part-name>Voice</part-name><score-instrument id="I1"><instrument-sound>voice.vocals</instrument-sound></score-instrument></score-part>
<score-part id="P2"><part-name>Piano</part-name></score-part>
<score-part id="P3"><part-name>Clarinet in Bb</part-name></score-part></part-list>
<part id="P1">
<measure number="1"><attributes><divisions>6</divisions><key><fifths>-1</fifths></key><time><beats>3</beats><beat-type>4</beat-type></time></attributes>
<direction><direction-type><metronome><beat-unit>quarter</beat-unit><per-minute>96</per-minute></metronome></direction-type><sound tempo="96"/></direction>
<direction><direction-type><dynamics><p/></dynamics></direction-type><sound dynamics="54"/></direction>
<note><pitch><step>F</step><octave>4</octave></pitch><duration>6</duration><voice>1</voice><tie type="start"/></note>
<note><pitch><step>F</step><octave>4</octave></pitch><duration>2</duration><voice>1</voice><tie type="stop"/><time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification></note>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration><voice>1</voice><time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification></note>
<note><pitch><step>A</step><octave>4</octave></pitch><duration>2</duration><voice>1</voice><time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification></note>
<note><grace slash="yes"/><pitch><step>B</step><alter>-1</alter><octave>4</octave></pitch><voice>1</voice></note>
<note><pitch><step>A</step><octave>4</octave></pitch><duration>6</duration><voice>1</voice></note></measure>
<measure number="2"><barline location="left"><repeat direction="forward"/></barline><direction><direction-type><segno/></direction-type><sound segno="segno"/></direction>
<note><rest/><duration>18</duration><voice>1</voice></note></measure>
<measure number="3"><barline location="left"><ending number="1" type="start"/></barline><note><pitch><step>C</step><octave>5</octave></pitch><duration>18</duration><voice>1</voice></note>
<barline location="right"><ending number="1" type="stop"/><repeat direction="backward"/></barline></measure>
<measure number="4"><barline location="left"><ending number="2" type="start"/></barline><direction><direction-type><words>To Coda</words></direction-type><sound tocoda="coda"/></direction>
<note><pitch><step>D</step><octave>5</octave></pitch><duration>18</duration><voice>1</voice></note><barline location="right"><ending number="2" type="discontinue"/></barline></measure>
<measure number="5"><direction><direction-type><words>D.S. al Coda</words></direction-type><sound dalsegno="segno"/></direction><note><pitch><step>E</step><octave>5</octave></pitch><duration>18</duration><voice>1</voice></note></measure>
<measure number="6"><direction><direction-type><coda/></direction-type><sound coda="coda"/></direction><note><pitch><step>F</step><octave>5</octave></pitch><duration>18</duration><voice>1</voice></note></measure>
</part>
<part id="P2">
<measure number="1"><attributes><divisions>6</divisions><time><beats>3</beats><beat-type>4</beat-type></time><staves>2</staves></attributes>
<note><pitch><step>A</step><octave>4</octave></pitch><duration>18</duration><voice>1</voice><staff>1</staff></note><note><chord/><pitch><step>C</step><octave>5</octave></pitch><duration>18</duration><voice>1</voice><staff>1</staff></note>
<backup><duration>18</duration></backup><forward><duration>6</duration></forward>
<note><pitch><step>F</step><octave>3</octave></pitch><duration>12</duration><voice>5</voice><staff>2</staff></note></measure>
<measure number="2"><note><rest measure="yes"/><duration>18</duration></note></measure>
<measure number="3"><note><rest/><duration>18</duration></note></measure>
<measure number="4"><note><rest/><duration>18</duration></note></measure>
<measure number="5"><note><pitch><step>C</step><octave>3</octave></pitch><duration>18</duration><staff>2</staff></note></measure>
<measure number="6"><direction><direction-type><dynamics><sfz/></dynamics></direction-type></direction><note><pitch><step>F</step><octave>2</octave></pitch><duration>18</duration><staff>2</staff></note></measure>
</part>
<part id="P3">
<measure number="1"><attributes><divisions>1</divisions><time><beats>3</beats><beat-type>4</beat-type></time><transpose><diatonic>-1</diatonic><chromatic>-2</chromatic></transpose></attributes>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>3</duration></note></measure>
</part>
</score-partwise>"#;

/// A lead sheet: a pickup, chord symbols with kinds, bass notes and degrees, N.C.
const LEADSHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<score-partwise><work><work-title>Changes</work-title></work><part-list><score-part id="P1"><part-name>Voice</part-name></score-part></part-list>
<part id="P1"><measure number="0" implicit="yes"><attributes><divisions>2</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration></note></measure>
<measure number="1"><harmony><root><root-step>C</root-step></root><kind text="">major</kind></harmony>
<note><pitch><step>E</step><octave>5</octave></pitch><duration>4</duration></note>
<harmony><root><root-step>A</root-step></root><kind text="7b9">dominant</kind><degree><degree-value>9</degree-value><degree-alter>-1</degree-alter><degree-type>add</degree-type></degree></harmony>
<note><pitch><step>C</step><alter>1</alter><octave>5</octave></pitch><duration>4</duration></note></measure>
<measure number="2"><harmony><root><root-step>D</root-step></root><kind>minor-seventh</kind><bass><bass-step>C</bass-step></bass></harmony>
<note><pitch><step>D</step><octave>5</octave></pitch><duration>8</duration></note></measure>
<measure number="3"><harmony><kind>none</kind></harmony><harmony><root><root-step>G</root-step></root><kind>suspended-fourth</kind><offset>4</offset></harmony>
<note><pitch><step>B</step><octave>4</octave></pitch><duration>6</duration></note></measure>
</part></score-partwise>"#;

/// The same music written measure by measure.
const TIMEWISE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<score-timewise><part-list><score-part id="P1"><part-name>Flute</part-name></score-part><score-part id="P2"><part-name>Bass</part-name></score-part></part-list>
<measure number="1"><part id="P1"><attributes><divisions>1</divisions><time><beats>2</beats><beat-type>4</beat-type></time></attributes><note><pitch><step>C</step><octave>5</octave></pitch><duration>2</duration></note></part>
<part id="P2"><attributes><divisions>1</divisions><time><beats>2</beats><beat-type>4</beat-type></time></attributes><note><pitch><step>C</step><octave>2</octave></pitch><duration>2</duration></note></part></measure>
<measure number="2"><part id="P1"><note><pitch><step>D</step><octave>5</octave></pitch><duration>2</duration></note></part><part id="P2"><note><pitch><step>G</step><octave>1</octave></pitch><duration>2</duration></note></part></measure>
</score-timewise>"#;
