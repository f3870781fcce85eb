//! The headers an evaluation scores: only the pieces that carry a style tag, or every piece told
//! other tags (what a tag is worth, in nats and in the music report).

use anyhow::Context;
use models::tokenizer::{Token, Vocab};

use crate::dataset::SplitData;

/// Where the style tags of a sequence's header lie: after `BOS` and the role, up to the first
/// token that is not a tag (an empty range at the header's end when it has none; `None` for a
/// sequence without a header).
fn header_styles(ids: &[u32]) -> Option<std::ops::Range<usize>> {
    let role_at = ids
        .iter()
        .take(2)
        .position(|&t| matches!(Vocab::token(t), Some(Token::Role(_))))?;
    let start = role_at + 1;
    let count = ids[start..]
        .iter()
        .take_while(|&&t| matches!(Vocab::token(t), Some(Token::Style(_))))
        .count();
    Some(start..start + count)
}

/// The sequences of `split` whose header carries the style `name` of the dataset's `vocab`.
pub fn with_style(split: &SplitData, vocab: &Vocab, name: &str) -> anyhow::Result<SplitData> {
    let tag = Vocab::id(Token::Style(style_slot(vocab, name)?));
    let mut out = SplitData::default();
    for (i, r) in split.seqs.iter().enumerate() {
        let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
        if header_styles(&ids).is_some_and(|h| ids[h].contains(&tag)) {
            out.push(&ids, r.file, r.role, r.transpose);
        }
    }
    if out.seqs.is_empty() {
        anyhow::bail!("no piece of the split carries the style {name:?}");
    }
    Ok(out)
}

/// The sequences of `split` whose header carries none of the styles `names` of the dataset's
/// `vocab` (`--without-style ending --without-style intro ...`: the band's main grooves alone,
/// models/README.md, "The silent last bar"). A name the dataset lacks is an error, as a typo.
pub fn without_styles(split: &SplitData, vocab: &Vocab, names: &[String]) -> anyhow::Result<SplitData> {
    let tags = style_tokens(vocab, names)?;
    let mut out = SplitData::default();
    for (i, r) in split.seqs.iter().enumerate() {
        let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
        if !header_styles(&ids).is_some_and(|h| ids[h].iter().any(|t| tags.contains(t))) {
            out.push(&ids, r.file, r.role, r.transpose);
        }
    }
    if out.seqs.is_empty() {
        anyhow::bail!("every piece of the split carries one of the styles {names:?}");
    }
    Ok(out)
}

/// `split` with the style tags of every header replaced by `names` (of the dataset's `vocab`).
pub fn as_styles(split: &SplitData, vocab: &Vocab, names: &[String]) -> anyhow::Result<SplitData> {
    let styles = style_tokens(vocab, names)?;
    let mut out = SplitData::default();
    for (i, r) in split.seqs.iter().enumerate() {
        let mut ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
        if let Some(h) = header_styles(&ids) {
            ids.splice(h, styles.iter().copied());
        }
        out.push(&ids, r.file, r.role, r.transpose);
    }
    Ok(out)
}

/// The `STYLE` token ids of `names` (of the dataset's `vocab`).
fn style_tokens(vocab: &Vocab, names: &[String]) -> anyhow::Result<Vec<u32>> {
    names
        .iter()
        .map(|name| style_slot(vocab, name).map(|s| Vocab::id(Token::Style(s))))
        .collect()
}

fn style_slot(vocab: &Vocab, name: &str) -> anyhow::Result<u16> {
    vocab.style_slot(name).with_context(|| {
        format!(
            "style {name:?} is not in the dataset (it has: {})",
            vocab.styles.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::music::{Note, Role};
    use models::tokenizer::{Sequence, Tokenizer, decode};

    #[test]
    fn a_style_filter_keeps_the_pieces_whose_header_carries_it() {
        let mut vocab = Vocab::new();
        let satie = vocab.add_style("Satie, Erik").unwrap();
        let modern = vocab.add_style("Modern").unwrap();
        let schubert = vocab.add_style("Schubert, Franz").unwrap();
        vocab.add_style("Classical").unwrap();
        let tok = Tokenizer::new(vocab.clone(), false);
        let mut split = SplitData::default();
        for (file, styles) in [vec![satie, modern], vec![schubert], vec![modern]]
            .into_iter()
            .enumerate()
        {
            let mut seq = Sequence::new(Role::Piano);
            seq.styles = styles;
            seq.bars = 1;
            seq.notes.push(Note {
                start: 0.0,
                duration: 1.0,
                pitch: 60,
                velocity: 80,
            });
            let ids = tok.encode(&seq).unwrap();
            split.push(&ids, file as u32, Role::Piano, 0);
        }
        let files = |name: &str| -> Vec<u32> {
            with_style(&split, &vocab, name)
                .unwrap()
                .seqs
                .iter()
                .map(|r| r.file)
                .collect()
        };
        assert_eq!(files("Modern"), vec![0, 2]);
        assert_eq!(files("Schubert, Franz"), vec![1]);
        let without = |names: &[&str]| -> Vec<u32> {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            without_styles(&split, &vocab, &names)
                .unwrap()
                .seqs
                .iter()
                .map(|r| r.file)
                .collect()
        };
        assert_eq!(without(&["Modern"]), vec![1]);
        assert_eq!(without(&["Satie, Erik", "Schubert, Franz"]), vec![2]);
        assert_eq!(without(&["Classical"]), vec![0, 1, 2], "a tag nobody carries keeps all");
        let all = ["Modern", "Schubert, Franz"].map(String::from);
        assert!(
            without_styles(&split, &vocab, &all)
                .unwrap_err()
                .to_string()
                .contains("every piece")
        );
        assert!(without_styles(&split, &vocab, &["Baroque".to_string()]).is_err());
        let none = with_style(&split, &vocab, "Classical").unwrap_err().to_string();
        assert!(none.contains("no piece"), "{none}");
        let unknown = with_style(&split, &vocab, "Baroque").unwrap_err().to_string();
        assert!(unknown.contains("it has: Satie, Erik, Modern"), "{unknown}");

        // Every header told "Classical" alone, the rest of each sequence as it was.
        let told = as_styles(&split, &vocab, &["Classical".to_string()]).unwrap();
        assert_eq!(told.seqs.len(), 3);
        let classical = vocab.style_slot("Classical").unwrap();
        for i in 0..3 {
            let ids: Vec<u32> = told.seq(i).iter().map(|&t| t as u32).collect();
            let was: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
            let seq = decode(&ids).unwrap();
            assert_eq!(seq.styles, vec![classical]);
            let mut orig = decode(&was).unwrap();
            orig.styles = vec![classical];
            assert_eq!(seq, orig);
        }
        assert!(as_styles(&split, &vocab, &["Baroque".to_string()]).is_err());
    }
}
