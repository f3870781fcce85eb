//! Writes the seed corpora from the project's golden MIDI files (`models/tests/data`):
//! `corpus/midi_parse/<name>.mid`, and for `token_decode` the token ids of every sequence of
//! every golden, two bytes per id as the target reads them.
//!
//! Run from `models/fuzz`: `cargo run --example make_seeds`.

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
    Ok(())
}
